"""The chat core: protocol, frames, connections, rooms and their rules."""
