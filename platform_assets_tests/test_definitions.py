"""Snapshot of every asset spec, so no owner, group, partitioning or SLA changes by accident.

After an intended change: ``UPDATE_SNAPSHOTS=1 .venv/bin/pytest platform_assets_tests/test_definitions.py``
and commit the new snapshot with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from platform_assets.definitions import build_definitions
from platform_assets.team import load_team

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_specs.json"


def describe_specs() -> dict:
    graph = build_definitions().resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        out[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "group": node.group_name,
            "owners": list(node.owners),
            "kinds": sorted(node.kinds),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/")},
            "code_version": node.code_version,
            "materializable": node.is_materializable,
            "partitions": None if partitions is None else {
                "start": partitions.start.isoformat(), "timezone": partitions.timezone, "cron": partitions.cron_schedule},
            "freshness_policy": repr(node.freshness_policy) if getattr(node, "freshness_policy", None) else None,
            "checks": sorted(c.name for c in node.check_keys) if hasattr(node, "check_keys") else [],
            "has_description": bool(node.description),
        }
    return out


def test_asset_specs_match_the_snapshot():
    current = describe_specs()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    changed = sorted(k for k in set(current) | set(expected) if current.get(k) != expected.get(k))
    assert not changed, f"asset specs changed for {changed}; if intended, re-run with UPDATE_SNAPSHOTS=1"


def test_every_asset_has_owners_description_group_and_is_claimed_by_name():
    team = load_team()
    for name, spec in describe_specs().items():
        assert len(spec["owners"]) == 2, name
        assert spec["has_description"], name
        assert spec["group"], name
        assert team.pipeline_for(name).name != "unassigned", f"{name} is only owned by the catch-all"
        assert spec["partitions"] and spec["partitions"]["timezone"] == "America/New_York", name


@pytest.mark.parametrize("database_url", ["", "postgresql://postgres@127.0.0.1:5432/postgres"])
def test_the_forkserver_preload_warms_what_every_step_process_needs(tmp_path, database_url):
    """Each step forks from the forkserver: whatever the preload leaves undone, every step pays
    (0.84 s per step before the preload existed; docs/decisions.md). A warm-up that silently
    failed would pass every other test, so this looks inside a fresh interpreter. What steps never
    use is left out (a run's first steps wait for the preload): the PostgreSQL warehouse unless it
    is configured."""
    import subprocess
    import sys

    postgres = "platform_assets.storage.postgres"

    probe = (
        "import sys, platform_assets.preload\n"
        "from platform_assets import definitions\n"
        "info = definitions.location_definitions.cache_info()\n"
        "assert info.currsize == 1, info\n"
        "assert definitions.defs() is definitions.defs()\n"
        "storage = [m for m in sys.modules if m.startswith('dagster._core.storage.sqlite')]\n"
        "assert storage, 'storage layer not imported'\n"
        "assert 'platform_assets.staging.transforms' in sys.modules\n"
        "lazy = ['pyarrow.dataset', 'pandera.backends.pandas.register', 'pandera.backends.pandas.builtin_checks',\n"
        "        'dagster._core.storage.local_compute_log_manager', 'dagster._core.execution.plan.active']\n"
        "assert not [m for m in lazy if m not in sys.modules], [m for m in lazy if m not in sys.modules]\n"
        f"assert ({postgres!r} in sys.modules) == {bool(database_url)}, 'PostgreSQL warehouse preloaded: {bool(database_url)}'\n"
        "print('warm')\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PLATFORM_DATABASE_URL": database_url}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "warm" in out.stdout, out.stderr[-2000:]


def test_step_priorities_are_the_critical_path_of_the_daily_graph():
    """PRIORITIES is written out because step tags are fixed before the graph exists; recomputed
    here from the asset graph, so an added asset or dependency cannot leave it stale."""
    from platform_assets import scheduling

    steps = scheduling.step_graph(build_definitions())
    computed = scheduling.critical_path_priorities(steps)
    assert scheduling.PRIORITIES == computed, f"update scheduling.PRIORITIES to {computed}"
    p = scheduling.priority
    # The close's chain first, then the longest chains of the day; a small import feeding a report
    # starts before the reports that wait on it, not last.
    assert p("raw_pos_transactions") > p("raw_app_events") > p("raw_orders") > p("stg_app_events_and_active_users")
    # daily_growth waits on stg_customer_first_orders: it goes before the small imports that feed only reports
    assert p("stg_customer_first_orders") > max(p(f"raw_{s}") for s in ("tiktok_ads", "klaviyo", "yotpo"))
    assert min(p(f"raw_{s}") for s in ("tiktok_ads", "klaviyo", "yotpo")) > p("aggregate_profit")
