"""The voice policy pack. `policies` holds the rules (importable, no server); `__main__` serves."""
