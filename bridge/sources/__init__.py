"""Webhook providers: their kinds, payloads, signature schemes and the values transforms share."""
