"""REST API controllers, one module per area; each handler parses, calls inbox/, renders."""
