"""Call flows declared in the stack: the model, its graph, its checks and the app artifact."""
