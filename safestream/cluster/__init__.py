"""Several nodes, one chat: the broker (memory, Redis or NATS) behind one interface."""
