"""How assets downstream of the imports are kept up to date, defined once.

Staging and report partitions of the latest business date materialize when their upstream
updates (``eager``), and only once every upstream blocking check of that partition has passed:
a partition stopped by a blocking check keeps its downstream waiting until the check passes.
Raw imports are started by the arrival sensor (a source's day is complete), not by this.

A standalone check with an input besides its asset (the ledger reconciliation reads the close and
the ledger) that failed runs again, for any date, when one of its inputs updates in a run that did
not also run the check (``RECHECK``), as soon as none of its inputs is in progress (the update is
remembered until then). Dagster's backfills order a check by its asset only: a
backfill can run the reconciliation with the close, before the same dates' ledger is staged in a
later run, and the check fails for want of a ledger; once the ledger is staged, this runs it again. A check
that passed is not repeated (a backfill that staged the ledger first re-ran every date's check
without this), nor are the arrival sensor's runs, which include the check with whichever input
lands last.
"""

import dagster as dg

DOWNSTREAM = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager once upstream blocking checks pass")

RECHECK = (
    dg.AutomationCondition.check_failed()
    # since_last_handled, as eager() has it: an input updated while another was in progress is
    # remembered until the check is requested or runs. Without it "updated" held for one tick only,
    # and a ledger staged while a backfill's next run had the close planned was never rechecked.
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("failed: again when an input updates without it")

AUTOMATION_SENSOR = dg.AutomationConditionSensorDefinition(
    "platform_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes staging and reports of the latest business date as their upstream updates and "
                "their upstream blocking checks pass (platform_assets/automation.py).",
)
