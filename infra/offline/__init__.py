"""Offline apply harness: a stand-in for `pulumi up`/`refresh`/`destroy`, NOT a second engine.

Where the Pulumi CLI is missing, this applies a stack by running the unchanged Pulumi program
under `pulumi.runtime.set_mocks` and forwarding every dynamic resource's registration to
Pulumi's OWN dynamic-provider host (`python -u -m pulumi.dynamic`) over gRPC, with the calls the
engine makes (`Configure`, then `Check`, `Diff`, `Create`, `Update`, `Read`, `Delete`, with the
serialized provider in `__provider` and secret wrappers stripped). Results are recorded in a
JSON state file (secrets masked). It has no preview, no Pulumi backend, no policy packs, no
aliases, no nested-path `ignore_changes` (top-level keys only), no stack references: use the
Pulumi CLI for real stacks.
"""
