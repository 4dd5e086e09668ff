"""SQL as data: schema migrations and query templates, read with importlib.resources."""
