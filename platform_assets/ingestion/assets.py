"""Source assets (the external exports) and one raw asset per source, built from the registry.

A source whose contract splits its files (POS: one file per region) is a graph-backed asset:
one step per file in parallel, then a publishing step (scheduling.py, docs/decisions.md).

A raw asset's materialization is one import batch per business date: the batch id, counts and
drift go into its metadata, so the Dagster UI shows the audit trail. A failed batch fails the
step with the reason, and nothing of it is published.
"""


import uuid

import dagster as dg

from platform_assets import scheduling
from platform_assets.conventions import asset_attributes, partition_dates, plain_metadata, runbook_metadata
from platform_assets.ingestion import registry
from platform_assets.ingestion.framework import ImportResult
from platform_assets.ingestion.registry import Source
from platform_assets.keys import raw_key, source_key
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.quality.checks import ERROR, WARN
from platform_assets.quality.publish import per_partition_checks
from platform_assets.resources import PlatformResource
from platform_assets.team import Team


class ImportConfig(dg.Config):
    """Run configuration of a raw asset."""

    force: bool = False  # re-import even if the same files are already published (reprocess)


def source_spec(source: Source, team: Team) -> dg.AssetSpec:
    c = source.contract
    return dg.AssetSpec(
        key=source_key(c.name),
        description=f"{c.description}\n\nDelivered to `<landing>/{c.name}/<YYYY-MM-DD>/` with a `_manifest.json`; "
                    f"files matching `{c.files}`.",
        partitions_def=DAILY_PARTITIONS,
        kinds={c.format},
        metadata={"contract_version": c.version, "file_pattern": c.files, **runbook_metadata(c.name, team)},
        freshness_policy=_levels(team).freshness_policy(c.name),
        **asset_attributes(c.name, layer="sources", domain=c.domain, team=team),
    )


def _levels(team: Team):
    from platform_assets.reports import _levels as levels

    return levels(team)


def raw_column_schema(source: Source) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(f.name, "string", description=f"{f.description + '; ' if f.description else ''}expected {f.expected}",
                       constraints=dg.TableColumnConstraints(nullable=f.nullable))
        for f in source.contract.fields
    ] + [
        dg.TableColumn("_batch_id", "string", description="import batch that loaded the row"),
        dg.TableColumn("_file", "string", description="delivered file"),
        dg.TableColumn("_row", "int", description="1-based data row in the file"),
        dg.TableColumn("_line", "int", description="1-based line in the file"),
        dg.TableColumn("_extra", "string", description="columns the contract does not declare (JSON)"),
        dg.TableColumn("business_date", "date", description="partition"),
    ])


def import_metadata(result: ImportResult) -> dict:
    b = result.batch
    published = result.published_batch or b
    meta = {
        "batch_id": b.batch_id,
        "batch_status": b.status,
        "published_batch_id": published.batch_id,
        "rows_read": published.rows_read,
        "rows_loaded": published.rows_loaded,
        "rows_rejected": published.rows_rejected,
        "reject_rate": round(published.reject_rate, 6),
        "files": dg.MetadataValue.json(published.files),
        "schema_drift": dg.MetadataValue.json(published.drift or {}),
        "reprocess": dg.MetadataValue.md(
            f"`platform-assets reprocess --source {b.source} --date {b.business_date}`"),
    }
    if published.manifest_exported_at:
        meta["exported_at"] = dg.MetadataValue.timestamp(published.manifest_exported_at)
    if b.message:
        meta["message"] = b.message
    return meta


# Checks every raw asset carries, evaluated from its import batch (the pandera contract runs at
# import, where it decides which rows are rejected).
RAW_CHECKS: dict[str, tuple[str, dg.AssetCheckSeverity, bool]] = {
    "delivery_complete": ("The day's files match their manifest (listed, present, same rows and checksums); an "
                          "incomplete day is refused and nothing is loaded", ERROR, True),
    "schema_drift": ("No required column removed, renamed or retyped: such a change blocks the partition and nothing "
                     "is published", ERROR, True),
    "columns_added": ("No column beyond the contract; an added column is kept (in _extra) and the data flows",
                      WARN, False),
    "contract": ("Rows pass the pandera contract (types, ranges, allowed values, business date); failing rows are "
                 "rejected into the ledger with file, row and reason", WARN, False),
    "contract_warnings": ("Accepted values in a non-preferred form (e.g. lower-case currency codes, normalized in "
                          "staging)", WARN, False),
    "reject_rate": ("Rejected rows stay under the source's threshold; over it the whole batch fails and nothing is "
                    "published", ERROR, True),
    "resent_delivery": ("Upstream did not send the same files again (a re-send is a recorded no-op)", WARN, False),
}


def raw_check_specs(key: dg.AssetKey, c) -> list[dg.AssetCheckSpec]:
    # partitions_def on the check: see quality/checks.py (public, preview in 1.13, pinned).
    return [dg.AssetCheckSpec(name, asset=key, blocking=blocking, partitions_def=DAILY_PARTITIONS,
                              description=f"{text} ({severity.value}{', blocking' if blocking else ''}"
                                          + (f"; threshold {c.max_reject_rate:.1%}" if name == "reject_rate" else "")
                                          + ")")
            for name, (text, severity, blocking) in RAW_CHECKS.items()]


def raw_check_results(key: dg.AssetKey, c, result: ImportResult, ledger) -> list[dg.AssetCheckResult]:
    """The raw checks of one import, from the batch (and, for a no-op, the batch still published)."""
    b = result.batch
    data = result.published_batch or b
    failure = b.findings.get("failure") if b.status == "failed" else None
    out: dict[str, tuple[bool, str, dict, dg.AssetCheckSeverity | None]] = {}

    out["delivery_complete"] = ((False, b.message or "incomplete delivery", {}, None)
                                if failure == "incomplete_delivery"
                                else (True, f"{len(b.files)} file(s) match the manifest", {"files": len(b.files)}, None))
    drift = b.drift if b.status != "noop" else data.drift
    drift_meta = {"drift": dg.MetadataValue.json(drift)}
    out["schema_drift"] = ((False, b.message or "breaking schema change", drift_meta, None)
                           if drift.get("missing") or drift.get("retyped")
                           else (True, "every required column present with its type", drift_meta, None))
    out["columns_added"] = ((False, f"new column(s) {', '.join(drift['added'])}: kept in _extra, the data flows",
                             drift_meta, None) if drift.get("added") else (True, "no column beyond the contract", {}, None))

    reasons = ledger.reject_reasons(data.batch_id) if data.rows_rejected else {}
    table = ["| rejected rows | reason |", "|---:|---|"] + [f"| {n:,} | {why} |" for why, n in reasons.items()]
    sample = [{k: r[k] for k in ("file", "row_number", "line_number", "reason", "record")}
              for r in ledger.rejects(batch_id=data.batch_id, limit=5)] if data.rows_rejected else []
    meta = {"rows_checked": data.rows_read, "failing_rows": data.rows_rejected, "checks": dg.MetadataValue.md("\n".join(table)),
            "failing_rows_sample": dg.MetadataValue.json(sample), "batch_id": data.batch_id}
    out["contract"] = ((True, f"all {data.rows_read:,} rows pass the contract", meta, None) if not data.rows_rejected
                       else (False, f"{data.rows_rejected:,} of {data.rows_read:,} rows rejected: "
                             + "; ".join(f"{n:,} × {why}" for why, n in list(reasons.items())[:3]), meta, None))
    flags = data.findings if b.status != "failed" else {}
    if flags.get("flagged_rows"):
        out["contract_warnings"] = (False, f"{flags['flagged_rows']:,} accepted row(s) flagged: " + "; ".join(
            f"{k} ({v:,})" for k, v in flags["checks"].items()), {"failing_rows": flags["flagged_rows"],
                                                                 "failing_rows_sample": dg.MetadataValue.json(flags["sample"])}, None)
    else:
        out["contract_warnings"] = (True, "no value in a non-preferred form", {"failing_rows": 0}, None)
    rate_meta = {"reject_rate": round(b.reject_rate, 6), "threshold": c.max_reject_rate}
    out["reject_rate"] = ((False, b.message, rate_meta, None) if failure == "reject_rate"
                          else (True, f"reject rate {data.reject_rate:.2%} within {c.max_reject_rate:.2%}",
                                {"reject_rate": round(data.reject_rate, 6), "threshold": c.max_reject_rate}, None))
    resent = b.findings.get("resent_of") if b.status == "noop" else None
    out["resent_delivery"] = ((False, f"upstream re-sent the same files (first published as batch {resent[:12]}); "
                                      "nothing re-imported", dict(b.findings), None) if resent
                              else (True, "no re-send", {}, None))
    results = []
    for name, (passed, description, metadata, severity) in out.items():
        results.append(dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=passed, description=description,
            severity=severity or RAW_CHECKS[name][1], metadata=plain_metadata(metadata)))
    return results


def _raw_attributes(source: Source, team: Team) -> dict:
    """What a raw asset carries, whether one step or a graph of steps computes it."""
    c = source.contract
    key = raw_key(c.name)
    return dict(
        key=key,
        partitions_def=DAILY_PARTITIONS,
        check_specs=raw_check_specs(key, c),
        description=f"{c.name} rows exactly as received (strings), with lineage (_batch_id, _file, _row). "
                    f"Loaded by the import framework: rows failing the contract are rejected with their "
                    f"reason into the ledger; over {c.max_reject_rate:.0%} rejected, or a missing/renamed "
                    f"column, fails the batch and nothing is published."
                    + (f" Each of {', '.join(c.split_files)} is read, checked and staged by a step of its own, in "
                       "parallel; the publish step judges the delivery as a whole and swaps it in at once."
                       if c.split_files else ""),
        kinds={"pandas", "pandera", c.format},
        code_version=c.version,
        metadata={"dagster/column_schema": raw_column_schema(source), "max_reject_rate": c.max_reject_rate,
                  **runbook_metadata(f"raw_{c.name}", team)},
        backfill_policy=scheduling.backfill_policy(f"raw_{c.name}"),
        **asset_attributes(f"raw_{c.name}", layer="raw", domain=c.domain, team=team),
    )


def _report(key: dg.AssetKey, c, results: list[ImportResult], ledger, *, ranged: bool, graph_output: bool = False):
    """What an import step reports for its dates, then a failure if the last one's batch failed (the
    dates after it are not attempted; nothing of the failed one is published). One date: as Dagster
    ties results to the run's partition. A range (a chunk of a backfill): each date's checks against
    its own partition, and only the dates whose batch was published recorded as materialized."""
    failed = results[-1] if results[-1].failed else None
    done = [r for r in results if not r.failed]
    checks = {r.batch.business_date: raw_check_results(key, c, r, ledger) for r in results}
    if not failed:  # every date published: the step's output materializes the run's dates
        fingerprints = ",".join((r.published_batch or r.batch).fingerprint or "" for r in done)
        version = dg.DataVersion(f"{c.version}:{_short_hash(fingerprints)}")
        if graph_output:
            yield dg.Output(None, "result", metadata=import_metadata(done[-1]), data_version=version)
        else:
            yield dg.MaterializeResult(metadata=import_metadata(done[-1]), data_version=version)
    elif ranged:
        for r in done:
            yield dg.AssetMaterialization(asset_key=key, partition=r.batch.business_date.isoformat(),
                                          metadata=import_metadata(r))
    if ranged:
        yield from per_partition_checks(checks, {name: blocking for name, (_, _, blocking) in RAW_CHECKS.items()})
    else:
        yield from checks[results[-1].batch.business_date]
    if failed:
        raise dg.Failure(description=failed.batch.message or failed.summary(), metadata=import_metadata(failed),
                         allow_retries=False)


def _import_dates(context, import_all) -> tuple[list[ImportResult], bool]:
    """Import the run's dates in order, stopping at the first failed batch (``import_all``)."""
    days = partition_dates(context)
    results = import_all(days)
    _log(context, [r.summary() for r in results])
    return results, len(days) > 1


def _one_by_one(import_one):
    """``import_all`` from a function importing one date: each in order, up to the first failure."""
    def import_all(days):
        results = []
        for day in days:
            results.append(import_one(day))
            if results[-1].failed:
                break
        return results

    return import_all


def _log(context, lines: list[str]) -> None:
    """One log message for the run's dates, a line per date: a month's backfill logs once, not 31
    times (every message is an event the instance stores and the run's orchestrator receives)."""
    if lines:
        context.log.info("\n".join(lines))


def build_raw_asset(source: Source, team: Team) -> dg.AssetsDefinition:
    c = source.contract
    if c.split_files:
        return build_split_raw_asset(source, team)
    attributes = _raw_attributes(source, team)
    key = attributes["key"]

    @dg.asset(deps=[source_key(c.name)], op_tags=scheduling.op_tags(f"raw_{c.name}"),
              pool=scheduling.pool(f"raw_{c.name}"), **attributes)
    def raw_asset(context: dg.AssetExecutionContext, config: ImportConfig, platform: PlatformResource):
        importer = platform.importer()
        results, ranged = _import_dates(context, lambda days: importer.import_days(
            c.name, days, trigger=f"dagster run {context.run.run_id}", force=config.force))
        yield from _report(key, c, results, platform.ledger(), ranged=ranged)

    return raw_asset


def staging_token(run_id: str, source: str, day) -> str:
    """The version id every step of one run agrees on for a source's day (also its batch id)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"platform-assets/{run_id}/{source}/{day}").hex


def build_split_raw_asset(source: Source, team: Team) -> dg.AssetsDefinition:
    """A multi-file source as a graph: one step per file (read, check, stage) in parallel, then a
    publish step that judges the delivery as a whole and swaps the staged files in at once."""
    c = source.contract
    attributes = _raw_attributes(source, team)
    key = attributes["key"]
    step = f"raw_{c.name}"
    check_outputs = [spec.get_python_identifier() for spec in attributes["check_specs"]]

    def stage_op(label: str, file_name: str) -> dg.OpDefinition:
        @dg.op(name=f"stage_{label.lower()}", ins={"delivery": dg.In(dg.Nothing)},
               tags={**scheduling.op_tags(step), "platform/part": label}, pool=scheduling.pool(step),
               description=f"Read {file_name}, check its rows against the contract, stage them (not yet visible).")
        def _stage(context: dg.OpExecutionContext, config: ImportConfig, platform: PlatformResource) -> list:
            importer, run_id = platform.importer(), context.run.run_id
            days = partition_dates(context)
            staged = importer.stage_files(c.name, days, file_name, [staging_token(run_id, c.name, day) for day in days],
                                          force=config.force)
            _log(context, [f"{c.name} {day} {file_name}: "
                           + (s.error or ("unchanged, nothing to do" if s.noop else
                                          f"{s.rows_read:,} rows read, {len(s.rejects):,} rejected, "
                                          f"{s.staged_rows:,} staged"))
                           for day, s in zip(partition_dates(context), staged)])
            return staged

        return _stage

    @dg.op(name="publish", tags=scheduling.op_tags(step), pool=scheduling.pool(step),
           out={"result": dg.Out(dg.Nothing, is_required=False),
                **{name: dg.Out(dg.Nothing, is_required=False) for name in check_outputs}},
           description="Judge the delivery as a whole (drift, reject rate) and publish the staged files at once, "
                       "or drop them; record the batch in the ledger.")
    def publish(context: dg.OpExecutionContext, config: ImportConfig, platform: PlatformResource, staged: list):
        importer, run_id = platform.importer(), context.run.run_id
        index = {day: i for i, day in enumerate(partition_dates(context))}
        results, ranged = _import_dates(context, _one_by_one(lambda day: importer.publish_staged(
            c.name, day, [per_file[index[day]] for per_file in staged], staging_token(run_id, c.name, day),
            trigger=f"dagster run {run_id}", force=config.force)))
        yield from _report(key, c, results, platform.ledger(), ranged=ranged, graph_output=True)

    stage_ops = [stage_op(label, file_name) for label, file_name in c.split_files.items()]
    op_names = [o.name for o in stage_ops] + ["publish"]

    @dg.graph_asset(
        name=step, ins={"delivery": dg.AssetIn(key=source_key(c.name), dagster_type=dg.Nothing)},
        config=dg.ConfigMapping(
            config_schema={"force": dg.Field(bool, default_value=False,
                                             description="re-import even if the same files are already published")},
            config_fn=lambda cfg: {name: {"config": {"force": cfg["force"]}} for name in op_names}),
        **{k: v for k, v in attributes.items() if k != "key"},
    )
    def raw_graph(delivery):
        return publish([o(delivery) for o in stage_ops])

    return raw_graph


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def defs(team: Team) -> dg.Definitions:
    sources = registry.discover().values()
    return dg.Definitions(
        assets=[source_spec(s, team) for s in sources] + [build_raw_asset(s, team) for s in sources],
    )
