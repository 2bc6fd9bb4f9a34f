"""Where assets keep their rows: the warehouse (Parquet or PostgreSQL)."""

from platform_assets.storage.warehouse import Table, Warehouse, open_warehouse

__all__ = ["Table", "Warehouse", "open_warehouse"]
