"""The webhook web app's parts: the receiver blueprint, health, JSON errors, client addresses."""
