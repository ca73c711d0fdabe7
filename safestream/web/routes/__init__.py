"""HTTP route modules, one concern each, registered on the Quart-Trio app."""
