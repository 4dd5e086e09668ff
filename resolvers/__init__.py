"""Filter parsing and one module per insight kind (filled in by the engine issues)."""
