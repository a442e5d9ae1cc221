"""twilio-voice infrastructure: environment spec, Twilio dynamic providers, drift and policy."""
