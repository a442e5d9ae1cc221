"""Flask-free WSGI app that serves the TwiML the provisioned Twilio resources point at.

Production: granian or ``gunicorn --forwarded-allow-ips '' 'webhook_app:get_app()'``, see
docs/webhook-app.md;
local: ``python -m webhook_app``.
"""

from webhook_app.app import create_app, get_app

__all__ = ["create_app", "get_app"]
