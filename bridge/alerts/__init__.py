"""Alerts that reach a person: one post when a condition starts, one when it clears."""
