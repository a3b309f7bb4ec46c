"""Server-rendered pages, one module per area (generators.py, ...)."""
