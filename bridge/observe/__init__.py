"""What an operator sees of a running bridge: structured, redacted logs."""
