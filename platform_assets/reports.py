"""What every report asset shares: where its rows live, how they are read and written, and the
attributes every report carries (owners, group = domain, kinds, code version)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from platform_assets import scheduling
from platform_assets.automation import DOWNSTREAM
from platform_assets.conventions import asset_attributes, runbook_metadata
from platform_assets.storage.warehouse import Table, Warehouse
from platform_assets.team import Team


def report_table(key: dg.AssetKey) -> Table:
    return Table("reports", key.to_user_string())


def staging(wh: Warehouse, key: dg.AssetKey, start: dt.date, end: dt.date | None = None,
            columns: list[str] | None = None) -> pd.DataFrame:
    return wh.read(Table("staging", key.to_user_string()), start, end or start, columns)


def input_window(context: dg.AssetExecutionContext, key: dg.AssetKey) -> tuple[dt.date, dt.date]:
    """The upstream dates a partition-mapped dependency covers for this run (inclusive)."""
    window = context.asset_partitions_time_window_for_input(key.to_python_identifier())
    return window.start.date(), window.end.date() - dt.timedelta(days=1)


def report_attributes(key: dg.AssetKey, *, domain: str, team: Team, code_version: str, contract=None) -> dict:
    """Everything a report's @dg.asset carries; with its contract, the checks and column schema."""
    attributes = {
        "key": key,
        "kinds": {"pandas", "pandera"} if contract else {"pandas"},
        "code_version": code_version,
        "automation_condition": DOWNSTREAM,
        **asset_attributes(key.to_user_string(), layer="reports", domain=domain, team=team),
        **scheduling.asset_step(key.to_user_string()),
    }
    attributes["metadata"] = runbook_metadata(key.to_user_string(), team)
    policy = _levels(team).freshness_policy(key.to_user_string())
    if policy is not None:
        attributes["freshness_policy"] = policy
    if contract is not None:
        attributes["check_specs"] = contract.specs()
        attributes["metadata"]["dagster/column_schema"] = contract.table_schema()
        attributes["output_required"] = False  # a partition failing a blocking check is not published
    return attributes


def _levels(team: Team):
    from platform_assets import settings_files
    from platform_assets.alerting.service_levels import ServiceLevels

    return ServiceLevels.from_config(settings_files.load("service_levels.yaml", team.config_dir))


def money_total(frame: pd.DataFrame, column: str) -> float:
    """A report's money column summed, as a number the UI can plot (exact values stay in the rows)."""
    return float(sum(frame[column].dropna())) if len(frame) else 0.0
