"""The terminal: ``ideabot chat`` talks to the bot as a customer, with no platform at all."""
