"""The store over SQLAlchemy Core: inbox, outbox, claims, transitions, limiter, accounts, look-ups."""
