"""How assets downstream of the imports are kept up to date, defined once.

Staging and report partitions of the latest business date materialize when their upstream
updates (``eager``), and only once every upstream blocking check of that partition has passed:
a partition stopped by a blocking check keeps its downstream waiting until the check passes.
Raw imports are started by the arrival sensor (a source's day is complete), not by this.
"""

import dagster as dg

DOWNSTREAM = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager once upstream blocking checks pass")

AUTOMATION_SENSOR = dg.AutomationConditionSensorDefinition(
    "platform_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes staging and reports of the latest business date as their upstream updates and "
                "their upstream blocking checks pass (platform_assets/automation.py).",
)
