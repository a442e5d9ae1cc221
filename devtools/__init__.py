"""Developer tools: the Pulumi CLI build, the main job, benchmarks, test harnesses.

Nothing here is shipped in the wheel (pyproject's package list names only the product packages);
users of twilio-voice run `infra`, `webhook_app` and `emulator`, never these.
"""
