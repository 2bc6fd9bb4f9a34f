"""The one Definitions object of the code location, assembled here.

Built lazily by ``@dg.definitions`` when Dagster loads the location, not at import: the team's
configuration is read then, and nothing reads the environment at import time.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import dagster as dg

from platform_assets import execution, jobs
from platform_assets.alerting import sensors as alert_sensors
from platform_assets.automation import AUTOMATION_SENSOR
from platform_assets.engagement import assets as engagement_assets
from platform_assets.finance import assets as finance_assets
from platform_assets.finance import checks as finance_checks
from platform_assets.growth import assets as growth_assets
from platform_assets.ingestion import assets as ingestion_assets
from platform_assets.ingestion import sensors as arrival_sensors
from platform_assets.profit import assets as profit_assets
from platform_assets.resources import PlatformResource
from platform_assets.settings import Settings
from platform_assets.staging import assets as staging_assets
from platform_assets.team import load_team


def sensor_intervals(interval: int | None) -> dict[str, int]:
    return {"landing_arrivals": interval or 15, "platform_alerts": interval or 30,
            "run_failure_alerts": interval or 30, "platform_automation": 30}


def build_definitions(config_dir=None, platform: PlatformResource | None = None,
                      sensor_interval: int | None = None, max_concurrent: str | None = None) -> dg.Definitions:
    """All definitions; ``platform`` overrides where data lives (tests, the demo)."""
    team = load_team(config_dir)
    intervals = sensor_intervals(sensor_interval)
    arrival_sensor, safety_net = arrival_sensors.build(intervals["landing_arrivals"])
    return dg.Definitions.merge(
        ingestion_assets.defs(team),
        staging_assets.defs(team),
        dg.Definitions(assets=[
            *finance_assets.build(team), *profit_assets.build(team), *growth_assets.build(team),
            *engagement_assets.build(team),
        ], asset_checks=finance_checks.build()),
        jobs.defs(),
        dg.Definitions(sensors=[AUTOMATION_SENSOR, *arrival_sensor, *alert_sensors.build(intervals)],
                       schedules=safety_net, resources={"platform": platform or PlatformResource()},
                       executor=execution.executor(execution.max_concurrent_steps(max_concurrent))),
    )


# Partitioned asset checks (AssetCheckSpec.partitions_def) are the only way to record a check per
# business date; Dagster 1.13 marks the parameter preview. We rely on it knowingly (quality/checks.py).
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec",
                        category=dg.PreviewWarning if hasattr(dg, "PreviewWarning") else Warning)
# Backfill policies (platform_assets/scheduling.py) are beta in 1.13 and the only way to run a
# range of dates in one run; pinned Dagster version, used knowingly.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`",
                        category=dg.BetaWarning if hasattr(dg, "BetaWarning") else Warning)
# The POS import is a graph asset (one step per region, then a publish step); its data version
# (from the delivery's checksums) can only be given through Output, beta in 1.13, used knowingly.
warnings.filterwarnings("ignore", message="Parameter `data_version` of initializer `Output.__init__`",
                        category=dg.BetaWarning if hasattr(dg, "BetaWarning") else Warning)
# A job over assets with different policies backfills in the smallest chunks (a month per run),
# which is what a job backfill should do; an asset backfill uses each asset's own policy.
warnings.filterwarnings("ignore", message="Asset job .* materializes assets with varying BackfillPolicies")


@functools.lru_cache(maxsize=4)
def location_definitions(config_dir: Path | None, sensor_interval: int | None,
                         max_concurrent: str | None) -> dg.Definitions:
    """Built once per process and settings: every step of a run reconstructs the job from this
    location, and the forkserver (platform_assets.preload) builds it before forking steps."""
    return build_definitions(config_dir, sensor_interval=sensor_interval, max_concurrent=max_concurrent)


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    return location_definitions(settings.config_dir, settings.sensor_interval_seconds,
                                settings.max_concurrent_steps)
