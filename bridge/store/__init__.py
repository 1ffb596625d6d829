"""The store: inbox, outbox, rate limiter and account state over SQLAlchemy Core."""
