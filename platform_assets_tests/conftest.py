"""Shared fixtures: generated landing zones (session-scoped) and a fresh platform per test."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from platform_assets.generator import generate
from platform_assets.resources import PlatformResource

# A Monday; the default mess plan's defects fall on documented days counted from here.
START = dt.date(2024, 3, 4)
DAYS = 14
SEED = 7


def day(index: int) -> dt.date:
    return START + dt.timedelta(days=index)


@pytest.fixture(scope="session")
def landing_default(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("landing_default")
    generate(path, START, DAYS, scale="small", seed=SEED, mess="default")
    return path


@pytest.fixture(scope="session")
def landing_clean(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("landing_clean")
    generate(path, START, DAYS, scale="small", seed=SEED, mess="none")
    return path


@pytest.fixture
def platform(tmp_path, landing_default) -> PlatformResource:
    return PlatformResource(landing_dir=str(landing_default), data_dir=str(tmp_path / "data"))


@pytest.fixture
def importer(platform):
    imp = platform.importer()
    yield imp
    imp.ledger.close()


@pytest.fixture
def private_landing(tmp_path, landing_default):
    """A landing zone of the test's own, to change files in: copy(source, day_index[, from_path])."""
    root = tmp_path / "landing"

    def copy(source: str, index: int, from_path: Path | None = None) -> Path:
        target = root / source / day(index).isoformat()
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(from_path or (landing_default / source / day(index).isoformat()), target)
        return target

    copy.root = root
    return copy


@pytest.fixture
def private_importer(tmp_path, private_landing):
    from platform_assets.ingestion.framework import Importer

    platform = PlatformResource(landing_dir=str(private_landing.root), data_dir=str(tmp_path / "data"))
    imp = Importer(private_landing.root, platform.warehouse(), platform.ledger())
    yield imp
    imp.ledger.close()


def rewrite_manifest(folder: Path) -> None:
    """Recompute a delivery's manifest after a test changed its files (an upstream re-export)."""
    import hashlib
    import json

    from platform_assets.ingestion.manifest import count_rows

    manifest_path = folder / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    fmt = {"csv": "csv", "jsonl": "jsonl", "json": "json"}
    for f in manifest["files"]:
        data = (folder / f["name"]).read_bytes()
        f["sha256"] = hashlib.sha256(data).hexdigest()
        f["rows"] = count_rows(data, fmt[f["name"].rsplit(".", 1)[1]])
    manifest_path.write_text(json.dumps(manifest))


class Materialized:
    """Every asset of the 14 generated days, materialized on a real (SQLite) Dagster instance."""

    def __init__(self, platform: PlatformResource, instance, home: Path, landing: Path, results: dict):
        self.platform = platform
        self.instance = instance
        self.home = home
        self.landing = landing
        self.results = results  # business date -> ExecuteInProcessResult

    @property
    def warehouse(self):
        return self.platform.warehouse()


class DayRuns:
    """The runs of one business date (each batch of arrivals starts one), read as one."""

    def __init__(self, runs: list):
        self.runs = runs

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)

    def get_asset_check_evaluations(self) -> list:
        return [e for r in self.runs for e in r.get_asset_check_evaluations()]

    def get_asset_materialization_events(self) -> list:
        return [e for r in self.runs for e in r.get_asset_materialization_events()]

    def get_step_failure_events(self) -> list:
        return [e for r in self.runs for e in r.get_step_failure_events()]


@pytest.fixture(scope="session")
def materialized(tmp_path_factory, landing_default) -> Materialized:
    """The demo's path: each date's deliveries in arrival order, each batch starting one run of its
    imports and everything downstream that is ready (the arrival sensor's plan)."""
    import dagster as dg

    from platform_assets.definitions import build_definitions
    from platform_assets.demo import replay_day

    data = tmp_path_factory.mktemp("materialized_data")
    home = tmp_path_factory.mktemp("materialized_dagster_home")
    platform = PlatformResource(landing_dir=str(landing_default), data_dir=str(data))
    instance = dg.DagsterInstance.local_temp(str(home))
    defs = build_definitions(platform=platform)
    results = {}
    for i in range(DAYS):
        runs: list = []
        replay_day(defs, platform, instance, day(i), runs=runs)
        results[day(i)] = DayRuns(runs)
    return Materialized(platform, instance, home, landing_default, results)


def check_outcomes(result) -> dict[tuple[str, str], object]:
    """(asset, check) -> AssetCheckEvaluation of one run."""
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="session")
def materialized_clean(tmp_path_factory, landing_clean) -> Materialized:
    """The clean (--mess none) landing zone, first 10 days, every asset and check."""
    import dagster as dg

    from platform_assets.definitions import build_definitions
    from platform_assets.demo import QUIET
    from platform_assets.jobs import DAILY_JOB

    data = tmp_path_factory.mktemp("clean_data")
    platform = PlatformResource(landing_dir=str(landing_clean), data_dir=str(data))
    instance = dg.DagsterInstance.ephemeral()
    job = build_definitions(platform=platform).resolve_job_def(DAILY_JOB)
    results = {day(i): job.execute_in_process(partition_key=day(i).isoformat(), instance=instance, run_config=QUIET,
                                              raise_on_error=False) for i in range(10)}
    return Materialized(platform, instance, data, landing_clean, results)


# ------------------------------------------------------------------------------------------------
# PostgreSQL (the production backend): a fresh database per test on the real server
# ------------------------------------------------------------------------------------------------

def _admin_url() -> str:
    import os

    return os.environ.get("PLATFORM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server's admin URL. In CI an unreachable server fails the tests, it never skips them."""
    import os

    import psycopg

    try:
        with psycopg.connect(_admin_url(), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is not reachable at {_admin_url()}; CI must run these tests") from exc
        pytest.skip(f"PostgreSQL not reachable ({exc}); start it: pg_ctlcluster --skip-systemctl-redirect 15 main start")
    return _admin_url()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """URL of a database created for this test and dropped after it."""
    import re
    import uuid

    import psycopg

    name = "pa_" + re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["embedded", "postgres"])
def backend_platform(request, tmp_path, landing_default) -> PlatformResource:
    """The same platform on each backend: Parquet + SQLite, or PostgreSQL for warehouse and ledger."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        return PlatformResource(landing_dir=str(landing_default), data_dir=str(tmp_path / "data"), database_url=url)
    return PlatformResource(landing_dir=str(landing_default), data_dir=str(tmp_path / "data"))
