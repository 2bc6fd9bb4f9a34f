"""`make bench` (all groups) or `make bench ONLY=<group>`: one `name=value` line per figure.

Every group runs in this one process, so ratios within a run are comparable. Bench-scale data
is generated once under $PLATFORM_BENCH_DIR (default .platform/bench) and reused.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

GROUPS = ["quality", "postgres", "parallel"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", choices=GROUPS, help="run one group")
    args = parser.parse_args(argv)
    workdir = Path(os.environ.get("PLATFORM_BENCH_DIR", ".platform/bench")).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    for group in [args.only] if args.only else GROUPS:
        t0 = time.perf_counter()
        importlib.import_module(f"benchmarks.{group}").run(workdir)
        print(f"# {group}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
