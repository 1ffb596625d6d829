"""After the receiver: transform, look up, deliver, reconcile; the worker runs them."""
