"""Spyglass gateway: the HTTP app, config, CLI, ingestion and the Store (ClickHouse access)."""
