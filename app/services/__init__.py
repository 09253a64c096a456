"""Services between the HTTP handlers and the engine: match, places."""
