"""The store over SQLAlchemy Core: inbox, outbox, claims and their transitions, limiter, accounts, look-ups."""
