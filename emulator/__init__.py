"""A stateful local stand-in for the Twilio Voice REST endpoints this project manages."""
