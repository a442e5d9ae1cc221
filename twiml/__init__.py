"""Jinja2 TwiML templates, one per call-flow step (package data)."""
