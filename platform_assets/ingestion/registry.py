"""Finds every source module in ``platform_assets.ingestion.sources`` (no list to edit)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from platform_assets.ingestion import sources as sources_package
from platform_assets.ingestion.contract import SourceContract


@dataclass(frozen=True)
class Source:
    contract: SourceContract
    module: ModuleType

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def is_marketing(self) -> bool:
        return hasattr(self.module, "normalize")

    @property
    def channel(self) -> str | None:
        return getattr(self.module, "CHANNEL", None)

    @property
    def acquisition_channel(self) -> str | None:
        """The sign-up channel this platform's spend acquires customers through (CAC by channel)."""
        return getattr(self.module, "ACQUISITION_CHANNEL", None)

    def normalize(self, raw):  # -> dict[str, DataFrame]
        return self.module.normalize(raw)


@cache
def discover() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for info in sorted(pkgutil.iter_modules(sources_package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{sources_package.__name__}.{info.name}")
        contract = getattr(module, "CONTRACT", None)
        if not isinstance(contract, SourceContract):
            raise TypeError(f"source module {module.__name__} must define CONTRACT = SourceContract(...)")
        if contract.name != info.name:
            raise ValueError(f"source module {info.name}.py declares CONTRACT.name={contract.name!r}; they must match")
        found[contract.name] = Source(contract, module)
    return found


def get(name: str) -> Source:
    sources = discover()
    if name not in sources:
        raise KeyError(f"unknown source {name!r}; known sources: {', '.join(sorted(sources))}")
    return sources[name]


def marketing_sources() -> list[Source]:
    return [s for s in discover().values() if s.is_marketing]
