"""Everything the bot sends on its own, used by handlers and scheduled jobs alike: the outbox and its
rate limits, how a notice reaches a person (in their language, through the outbox: delivery.py), and
one builder per notice, grouped by domain, that returns what is sent."""
