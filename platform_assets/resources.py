"""The one resource assets use to reach storage; chosen from the environment at run time.

Fields left unset come from ``Settings.from_env()`` when a step first needs them, so the same
Definitions run on the embedded default (Parquet + SQLite) or on PostgreSQL
(``PLATFORM_DATABASE_URL``) without code changes, and tests can pass explicit directories.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from platform_assets import allocator
from platform_assets.ingestion.framework import Importer
from platform_assets.ingestion.ledger import Ledger
from platform_assets.settings import Settings
from platform_assets.storage.warehouse import Warehouse, open_warehouse


class PlatformResource(dg.ConfigurableResource):
    """Landing zone, warehouse and import ledger. Unset fields: PLATFORM_* environment variables."""

    landing_dir: str | None = None
    data_dir: str | None = None
    database_url: str | None = None

    _warehouse: Warehouse | None = PrivateAttr(default=None)
    _ledger: Ledger | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        base = Settings.from_env()
        return dataclasses.replace(
            base,
            landing_dir=Path(self.landing_dir).absolute() if self.landing_dir else base.landing_dir,
            data_dir=Path(self.data_dir).absolute() if self.data_dir else base.data_dir,
            database_url=self.database_url or base.database_url,
        )

    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = open_warehouse(self.settings())
        return self._warehouse

    def ledger(self) -> Ledger:
        if self._ledger is None:
            settings = self.settings()
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._ledger = Ledger(settings.ledger_url)
        return self._ledger

    def importer(self) -> Importer:
        return Importer(self.settings().landing_dir, self.warehouse(), self.ledger())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        allocator.tune()  # a step's large arrays reuse freed memory (platform_assets/allocator.py)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
        if self._ledger is not None:
            self._ledger.close()
