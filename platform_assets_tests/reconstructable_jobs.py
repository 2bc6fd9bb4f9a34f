"""Jobs tests execute in separate processes (multiprocess executor): they must be importable."""

import dagster as dg


def daily_platform_job() -> dg.JobDefinition:
    from platform_assets.definitions import defs
    from platform_assets.jobs import DAILY_JOB

    return defs().resolve_job_def(DAILY_JOB)
