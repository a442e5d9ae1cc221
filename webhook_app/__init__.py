"""Flask-free WSGI app that serves the TwiML the provisioned Twilio resources point at.

Production: ``gunicorn 'webhook_app:get_app()'`` (or granian, see docs/webhook-app.md);
local: ``python -m webhook_app``.
"""

from webhook_app.app import create_app, get_app

__all__ = ["create_app", "get_app"]
