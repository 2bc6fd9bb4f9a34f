"""The commands other tools rely on load the code location from the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_dagster_loads_the_workspace_from_the_repository_root(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": str(BIN)}
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    proc = subprocess.run([str(BIN / "dagster"), "definitions", "validate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Validation successful for code location platform_assets" in proc.stderr + proc.stdout


def test_dg_reads_the_project_configuration(tmp_path):
    proc = subprocess.run([str(BIN / "dg"), "list", "defs", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": str(BIN), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert '"revenue_close"' in proc.stdout and '"raw_pos_transactions"' in proc.stdout
