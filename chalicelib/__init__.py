"""textfiles core: use cases over ports; nothing here imports chalice."""
