"""The HTTP API: records and limits (http.py), the route table (routes.py), one module per resource, OpenAPI."""
