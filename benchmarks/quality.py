"""validation_over_materialization: what the checks add to a bench-scale (1M rows) POS partition.

Figures (medians of 3):
- validation_over_materialization: stg_pos_lines' checks (pandera contract, duplicates, rows lost)
  over the rest of its materialization (read raw, transform, write). Target <= 0.25.
- raw_validation_share: the contract's row validation inside the raw POS import, over the import.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import BENCH_DAY, bench_landing, emit, median_seconds, ok


def run(workdir: Path) -> None:
    from platform_assets.ingestion import registry
    from platform_assets.ingestion.framework import raw_table
    from platform_assets.ingestion.validation import flag_values, validate_rows
    from platform_assets.quality.checks import CheckContext
    from platform_assets.quality.common import raw_distinct_keys
    from platform_assets.resources import PlatformResource
    from platform_assets.staging import schemas as S
    from platform_assets.staging import transforms as T
    from platform_assets.staging.assets import table
    from platform_assets import keys

    landing = bench_landing(workdir, ["pos_transactions", "fx_rates"])
    with tempfile.TemporaryDirectory(dir=workdir) as data:
        platform = PlatformResource(landing_dir=str(landing), data_dir=data)
        importer = platform.importer()
        wh = platform.warehouse()
        ok(importer.import_day("fx_rates", BENCH_DAY))
        rates = T.effective_fx_rates(wh.read(raw_table("fx_rates"), BENCH_DAY, BENCH_DAY), BENCH_DAY)
        import_seconds = median_seconds(lambda: ok(importer.import_day("pos_transactions", BENCH_DAY, force=True)))
        raw = wh.read(raw_table("pos_transactions"), BENCH_DAY, BENCH_DAY)
        contract = registry.get("pos_transactions").contract

        def raw_validation():
            checked = validate_rows(contract, raw, BENCH_DAY)
            flag_values(contract, raw[checked.valid])

        emit("bench_pos_rows", len(raw))
        emit("raw_validation_share", median_seconds(raw_validation) / import_seconds)

        state = {}

        def materialize():  # what stg_pos_lines does without its checks
            frame, stats = T.pos_lines(wh.read(raw_table("pos_transactions"), BENCH_DAY, BENCH_DAY), rates, BENCH_DAY)
            wh.replace(table(keys.STG_POS_LINES), frame, [BENCH_DAY])
            state.update(frame=frame, stats=stats)

        def validate():
            stats = {**state["stats"].check_stats(), "raw_distinct_keys": raw_distinct_keys(raw, S.stg_pos_lines.KEY)}
            results, _ = S.CONTRACTS[keys.STG_POS_LINES].results(CheckContext(state["frame"], BENCH_DAY, platform, stats))
            assert all(r.passed or r.check_name == "duplicates" for r in results), [r.description for r in results]

        materialization = median_seconds(materialize)
        validation = median_seconds(validate)
        emit("stg_pos_lines_materialization_s", materialization)
        emit("stg_pos_lines_validation_s", validation)
        emit("validation_over_materialization", validation / materialization)
