"""What an operator sees of a running bridge: structured, redacted logs, and personal data masked."""
