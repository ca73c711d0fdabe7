"""HTTP and WebSocket interfaces of SafeStream: Quart-Trio routes plus the chat socket."""
