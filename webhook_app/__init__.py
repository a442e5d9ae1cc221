"""Flask-free WSGI app that serves the TwiML the provisioned Twilio resources point at."""
