"""Staging: typed, cleaned, deduplicated rows in USD, one table per business entity."""
