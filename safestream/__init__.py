"""SafeStream: a self-hostable live-stream chat where every message is moderated."""

__version__ = "0.1.0"
