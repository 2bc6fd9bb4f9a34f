"""Source assets (the external exports) and one raw asset per source, built from the registry.

A raw asset's materialization is one import batch per business date: the batch id, counts and
drift go into its metadata, so the Dagster UI shows the audit trail. A failed batch fails the
step with the reason, and nothing of it is published.
"""


import dagster as dg

from platform_assets.conventions import asset_attributes, partition_dates
from platform_assets.ingestion import registry
from platform_assets.ingestion.framework import ImportResult
from platform_assets.ingestion.registry import Source
from platform_assets.keys import raw_key, source_key
from platform_assets.partitions import DAILY_PARTITIONS
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
        metadata={"contract_version": c.version, "file_pattern": c.files},
        **asset_attributes(c.name, layer="sources", domain=c.domain, team=team),
    )


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


def build_raw_asset(source: Source, team: Team) -> dg.AssetsDefinition:
    c = source.contract

    @dg.asset(
        key=raw_key(c.name),
        deps=[source_key(c.name)],
        partitions_def=DAILY_PARTITIONS,
        description=f"{c.name} rows exactly as received (strings), with lineage (_batch_id, _file, _row). "
                    f"Loaded by the import framework: rows failing the contract are rejected with their "
                    f"reason into the ledger; over {c.max_reject_rate:.0%} rejected, or a missing/renamed "
                    f"column, fails the batch and nothing is published.",
        kinds={"pandas", c.format},
        code_version=c.version,
        metadata={"dagster/column_schema": raw_column_schema(source), "max_reject_rate": c.max_reject_rate},
        **asset_attributes(f"raw_{c.name}", layer="raw", domain=c.domain, team=team),
    )
    def raw_asset(context: dg.AssetExecutionContext, config: ImportConfig,
                  platform: PlatformResource) -> dg.MaterializeResult:
        importer = platform.importer()
        results = []
        for day in partition_dates(context):
            result = importer.import_day(c.name, day, trigger=f"dagster run {context.run.run_id}", force=config.force)
            context.log.info(result.summary())
            if result.failed:
                raise dg.Failure(description=result.batch.message or result.summary(),
                                 metadata=import_metadata(result), allow_retries=False)
            results.append(result)
        last = results[-1]
        fingerprints = ",".join((r.published_batch or r.batch).fingerprint or "" for r in results)
        return dg.MaterializeResult(
            metadata=import_metadata(last),
            data_version=dg.DataVersion(f"{c.version}:{_short_hash(fingerprints)}"),
        )

    return raw_asset


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def defs(team: Team) -> dg.Definitions:
    sources = registry.discover().values()
    return dg.Definitions(
        assets=[source_spec(s, team) for s in sources] + [build_raw_asset(s, team) for s in sources],
    )
