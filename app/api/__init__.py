"""HTTP blueprints: each handler validates with a schema, calls one service, returns JSON."""
