"""Staging assets: thin Dagster wrappers that read raw partitions, call ``transforms``, and publish
each partition only after its contract's checks pass (staging/schemas, quality/publish.py).
Each processes every date of its run (one, or a backfill range).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from platform_assets import keys, scheduling
from platform_assets.automation import DOWNSTREAM
from platform_assets.conventions import asset_attributes, input_reads, partition_dates, runbook_metadata
from platform_assets.ingestion import registry
from platform_assets.ingestion.assets import staging_token
from platform_assets.ingestion.framework import raw_table
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.quality.checks import SchemaCount
from platform_assets.quality.common import raw_distinct_keys
from platform_assets.quality.publish import Publisher, publish_all
from platform_assets.resources import PlatformResource
from platform_assets.staging import schemas as S
from platform_assets.staging import transforms as T
from platform_assets.storage.warehouse import Table, Warehouse
from platform_assets.team import Team

CODE_VERSION = "1"
FX_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-T.FX_LOOKBACK_DAYS)
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
REFUND_ORDERS_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-T.REFUND_ORDER_LOOKBACK_DAYS)


def table(key: dg.AssetKey) -> Table:
    return Table("staging", key.to_user_string())


def read_raw(wh: Warehouse, source: str, day: dt.date) -> pd.DataFrame:
    return wh.read(raw_table(source), day, day)


def read_rates(wh: Warehouse, day: dt.date) -> pd.DataFrame:
    rates = wh.read(table(keys.STG_FX_RATES), day, day)
    if rates.empty:
        raise dg.Failure(f"stg_fx_rates has no partition for {day}: materialize it first")
    return rates


def _spec(key: dg.AssetKey, description: str, domain: str, team: Team, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=key, description=description, deps=deps, partitions_def=DAILY_PARTITIONS, kinds={"pandas", "pandera"},
        code_version=CODE_VERSION, skippable=True,  # a partition that fails a blocking check is not published
        automation_condition=DOWNSTREAM,
        metadata={"dagster/column_schema": S.CONTRACTS[key].table_schema(),
                  **runbook_metadata(key.to_user_string(), team)},
        **asset_attributes(key.to_user_string(), layer="staging", domain=domain, team=team))


def _checks(*asset_keys: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [spec for k in asset_keys for spec in S.CONTRACTS[k].specs()]


def _publisher(key: dg.AssetKey, platform: PlatformResource, context) -> Publisher:
    return Publisher(S.CONTRACTS[key], platform, table(key), context.log)


def _raw_dep(source: str) -> dg.AssetDep:
    return dg.AssetDep(keys.raw_key(source))


def _fx_dep() -> dg.AssetDep:
    return dg.AssetDep(keys.STG_FX_RATES)


def _stats(stats: T.CleanStats, raw: pd.DataFrame, key: tuple[str, ...]) -> dict:
    return {**stats.check_stats(), "raw_distinct_keys": raw_distinct_keys(raw, key)}


def build(team: Team) -> list[dg.AssetsDefinition]:
    a = {"team": team}

    @dg.multi_asset(specs=[_spec(
        keys.STG_FX_RATES,
        "Per currency, the USD rate every amount of the business date is converted with: the latest "
        "rate_date on or before the date among the last 8 FX deliveries. A rate older than the date is a "
        "fallback (warning, and the rates_complete check).",
        "reference", deps=[dg.AssetDep(keys.raw_key("fx_rates"), partition_mapping=FX_WINDOW)], **a)],
        check_specs=_checks(keys.STG_FX_RATES), partitions_def=DAILY_PARTITIONS, name="stg_fx_rates",
        **scheduling.asset_step("stg_fx_rates"))
    def stg_fx_rates(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_FX_RATES, platform, context)

        def days():
            for day in partition_dates(context):
                window = wh.read(raw_table("fx_rates"), day - dt.timedelta(days=T.FX_LOOKBACK_DAYS), day)
                rates = T.effective_fx_rates(window, day)
                if len(rates) <= 1:
                    raise dg.Failure(f"stg_fx_rates {day}: no FX rates delivered on or in the {T.FX_LOOKBACK_DAYS} "
                                     "days before this date")
                fallbacks = rates[rates["is_fallback"]]
                note = ", ".join(f"{c} (rate of {d:%Y-%m-%d})"
                                 for c, d in zip(fallbacks["currency"], fallbacks["rate_date"]))
                if note:
                    context.log.warning(f"stg_fx_rates {day}: no current rate for {note}; using the latest earlier "
                                        "rate")
                yield day, [(rates, None)], note

        _, [(rates, _)], note = publish_all([pub], days())
        yield from pub.outputs({"currencies": len(rates), "fallback_currencies": note or "none",
                                "max_rate_age_days": int(rates["age_days"].max())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_PRODUCTS,
        "Product cost versions from the latest catalogue snapshot, with effective_from/effective_to and the "
        "unit cost in USD at the business date's rate. COGS uses the version effective on the date.",
        "reference", deps=[_raw_dep("products"), _fx_dep()], **a)], check_specs=_checks(keys.STG_PRODUCTS),
        partitions_def=DAILY_PARTITIONS, name="stg_products",
        **scheduling.asset_step("stg_products"))
    def stg_products(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_PRODUCTS, platform, context)
        days = ((day, [(frame, stats.check_stats())], stats) for day in partition_dates(context)
                for frame, stats in [T.products(read_raw(wh, "products", day), read_rates(wh, day), day)])
        _, [(frame, _)], stats = publish_all([pub], days)
        yield from pub.outputs({**stats.as_metadata(), "skus": int(frame["sku"].nunique())})

    stg_pos_lines = pos_lines_asset(team)

    @dg.multi_asset(specs=[
        _spec(keys.STG_ORDERS, "Online orders, one row each, deduplicated on order_id; totals of their lines "
              "and tax/shipping in USD cents. Cancelled orders are kept with their status.", "sales",
              deps=[_raw_dep("orders"), _fx_dep()], **a),
        _spec(keys.STG_ORDER_LINES, "The lines of the online orders, with amounts in USD cents.", "sales",
              deps=[_raw_dep("orders"), _fx_dep()], **a),
    ], check_specs=_checks(keys.STG_ORDERS, keys.STG_ORDER_LINES), partitions_def=DAILY_PARTITIONS,
        name="stg_orders_and_lines", **scheduling.asset_step("stg_orders_and_lines"))
    def stg_orders(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        orders_pub = _publisher(keys.STG_ORDERS, platform, context)
        lines_pub = _publisher(keys.STG_ORDER_LINES, platform, context)

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "orders", day)
                orders, lines, stats = _guard(lambda d=day: T.orders(raw, read_rates(wh, d), d))
                yield day, [(orders, _stats(stats, raw, S.stg_orders.KEY)), (lines, None)], stats

        _, [(orders, _), (lines, _)], stats = publish_all([orders_pub, lines_pub], days())
        yield from orders_pub.outputs({**stats.as_metadata(), "completed": int((orders["status"] == "completed").sum())})
        yield from lines_pub.outputs({"rows": len(lines)})

    @dg.multi_asset(specs=[_spec(
        keys.STG_REFUNDS, "Online refunds on their own business date (often of earlier orders), deduplicated on "
        "refund_id, in USD cents, with the refunded order's customer and date when the order is among the "
        "last 30 days of orders.", "sales",
        deps=[_raw_dep("refunds"), _fx_dep(), dg.AssetDep(keys.STG_ORDERS, partition_mapping=REFUND_ORDERS_WINDOW)],
        **a)], check_specs=_checks(keys.STG_REFUNDS), partitions_def=DAILY_PARTITIONS, name="stg_refunds",
        **scheduling.asset_step("stg_refunds"))
    def stg_refunds(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_REFUNDS, platform, context)
        orders_window = context.asset_partitions_time_window_for_input(keys.STG_ORDERS.to_python_identifier())
        recent = wh.read(table(keys.STG_ORDERS), orders_window.start.date(),
                         orders_window.end.date() - dt.timedelta(days=1),
                         columns=["order_id", "customer_id", "business_date"])

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "refunds", day)
                frame, stats = _guard(lambda d=day: T.refunds(raw, read_rates(wh, d), d,
                                                              recent[recent["business_date"] <= pd.Timestamp(d)]))
                yield day, [(frame, _stats(stats, raw, S.stg_refunds.KEY))], stats

        _, [(frame, _)], stats = publish_all([pub], days())
        yield from pub.outputs({**stats.as_metadata(), "refunds_usd": float(frame["amount_usd_cents"].sum()) / 100,
                                "refunds_of_unknown_orders": int(frame["customer_id"].isna().sum())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_GL_ENTRIES, "The finance ledger's entries of the day by entity and account, in USD cents.",
        "finance", deps=[_raw_dep("gl_entries"), _fx_dep()], **a)], check_specs=_checks(keys.STG_GL_ENTRIES),
        partitions_def=DAILY_PARTITIONS, name="stg_gl_entries",
        **scheduling.asset_step("stg_gl_entries"))
    def stg_gl_entries(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_GL_ENTRIES, platform, context)

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "gl_entries", day)
                frame, stats = _guard(lambda d=day: T.gl_entries(raw, read_rates(wh, d), d))
                yield day, [(frame, _stats(stats, raw, S.stg_gl_entries.KEY))], stats

        _, _, stats = publish_all([pub], days())
        yield from pub.outputs(stats.as_metadata())

    @dg.multi_asset(specs=[_spec(
        keys.STG_CUSTOMERS, "Customers who signed up on the business date, deduplicated on customer_id.",
        "customers", deps=[_raw_dep("customers")], **a)], check_specs=_checks(keys.STG_CUSTOMERS),
        partitions_def=DAILY_PARTITIONS, name="stg_customers",
        **scheduling.asset_step("stg_customers"))
    def stg_customers(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_CUSTOMERS, platform, context)

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "customers", day)
                frame, stats = T.customers(raw, day)
                yield day, [(frame, _stats(stats, raw, S.stg_customers.KEY))], stats

        _, _, stats = publish_all([pub], days())
        yield from pub.outputs(stats.as_metadata())

    @dg.multi_asset(specs=[
        _spec(keys.STG_APP_EVENTS, "App and web events, deduplicated on event_id.", "engagement",
              deps=[_raw_dep("app_events")], **a),
        _spec(keys.STG_ACTIVE_USERS, "One row per user and platform active on the date (sessions, events): "
              "what WAU and MAU are counted from, instead of re-reading 28 days of events.", "engagement",
              deps=[_raw_dep("app_events")], **a),
    ], check_specs=_checks(keys.STG_APP_EVENTS, keys.STG_ACTIVE_USERS), partitions_def=DAILY_PARTITIONS,
        name="stg_app_events_and_active_users", **scheduling.asset_step("stg_app_events_and_active_users"))
    def stg_app_events(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        events_pub = _publisher(keys.STG_APP_EVENTS, platform, context)
        users_pub = _publisher(keys.STG_ACTIVE_USERS, platform, context)

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "app_events", day)
                events, stats = T.app_events(raw, day)
                yield day, [(events, _stats(stats, raw, S.stg_app_events.KEY)), (T.active_users(events, day), None)], stats

        _, [_, (users, _)], stats = publish_all([events_pub, users_pub], days())
        yield from events_pub.outputs(stats.as_metadata())
        yield from users_pub.outputs({"rows": len(users), "active_users": int(users["user_id"].nunique())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_EXPERIMENT_ASSIGNMENTS, "Experiment assignments as of the date (full snapshot), deduplicated "
        "on (experiment_id, unit_type, unit_id).", "customers", deps=[_raw_dep("experiment_assignments")], **a)],
        check_specs=_checks(keys.STG_EXPERIMENT_ASSIGNMENTS), partitions_def=DAILY_PARTITIONS,
        name="stg_experiment_assignments", **scheduling.asset_step("stg_experiment_assignments"))
    def stg_experiment_assignments(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_EXPERIMENT_ASSIGNMENTS, platform, context)

        def days():
            for day in partition_dates(context):
                raw = read_raw(wh, "experiment_assignments", day)
                frame, stats = T.experiment_assignments(raw, day)
                yield day, [(frame, _stats(stats, raw, S.stg_experiment_assignments.KEY))], stats

        _, [(frame, _)], stats = publish_all([pub], days())
        yield from pub.outputs({**stats.as_metadata(), "experiments": int(frame["experiment_id"].nunique())})

    marketing = registry.marketing_sources()
    marketing_deps = [_raw_dep(s.name) for s in marketing] + [_fx_dep()]

    @dg.multi_asset(specs=[
        _spec(keys.STG_MARKETING_SPEND, "Marketing spend of every platform in one shape (platform, channel, "
              "acquisition channel, campaign, spend in USD cents, impressions, clicks, conversions). Platforms are "
              "found by convention: each module in ingestion/sources with a normalize() function.", "marketing",
              deps=marketing_deps, **a),
        _spec(keys.STG_MARKETING_ENGAGEMENT, "Email, SMS and review engagement of every platform in one shape "
              "(sends, opens, clicks, conversions, attributed revenue, reviews, rating sum).", "marketing",
              deps=marketing_deps, **a),
    ], check_specs=_checks(keys.STG_MARKETING_SPEND, keys.STG_MARKETING_ENGAGEMENT), partitions_def=DAILY_PARTITIONS,
        name="stg_marketing", **scheduling.asset_step("stg_marketing"))
    def stg_marketing(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        spend_pub = _publisher(keys.STG_MARKETING_SPEND, platform, context)
        engagement_pub = _publisher(keys.STG_MARKETING_ENGAGEMENT, platform, context)

        def days():
            for day in partition_dates(context):
                normalized = {}
                for s in marketing:
                    raw = read_raw(wh, s.name, day)
                    normalized[s.name] = (T.Platform(s.channel, s.acquisition_channel),
                                          s.normalize(raw) if len(raw) else {})
                spend, engagement = _guard(lambda d=day: T.marketing(normalized, read_rates(wh, d), d))
                yield day, [(spend, None), (engagement, None)]

        _, [(spend, _), (engagement, _)] = publish_all([spend_pub, engagement_pub], days())
        by_platform = spend.groupby("platform")["spend_usd_cents"].sum()
        yield from spend_pub.outputs({"rows": len(spend), "spend_usd": float(by_platform.sum()) / 100,
                                      **{f"spend_usd_{p}": float(v) / 100 for p, v in by_platform.items()}})
        yield from engagement_pub.outputs({"rows": len(engagement), "sends": int(engagement["sends"].sum())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_CUSTOMER_FIRST_ORDERS,
        "Customers whose first completed online order (since the platform's history starts) is on the date. "
        "Depends on its own previous partition: earlier first orders are excluded.", "growth",
        deps=[dg.AssetDep(keys.STG_ORDERS),
              dg.AssetDep(keys.STG_CUSTOMER_FIRST_ORDERS, partition_mapping=PREVIOUS_DAY)], **a)],
        check_specs=_checks(keys.STG_CUSTOMER_FIRST_ORDERS), partitions_def=DAILY_PARTITIONS,
        name="stg_customer_first_orders", **scheduling.asset_step("stg_customer_first_orders"))
    def stg_customer_first_orders(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_CUSTOMER_FIRST_ORDERS, platform, context)
        dates = partition_dates(context)
        # Every earlier first order, read once for the run; a range adds each date's own as it is
        # published (a date blocked by its checks adds nothing, as it is not in the warehouse), so a
        # month's backfill reads the history once instead of once per date.
        history = wh.read(table(keys.STG_CUSTOMER_FIRST_ORDERS), dt.date(2000, 1, 1), dates[0] - dt.timedelta(days=1),
                          columns=["customer_id"])
        seen = set(history["customer_id"].tolist()) if "customer_id" in history else set()
        for day in dates:
            before = len(seen)
            frame = T.first_orders(wh.read(table(keys.STG_ORDERS), day, day), seen, day)
            if pub.publish(frame, day):
                seen.update(frame["customer_id"].tolist())
        yield from pub.outputs({"first_order_customers": len(frame), "customers_before": before})

    return [stg_fx_rates, stg_products, stg_pos_lines, stg_orders, stg_refunds, stg_gl_entries, stg_customers,
            stg_app_events, stg_experiment_assignments, stg_marketing, stg_customer_first_orders]


# ---------------------------------------------------------------------------------------------
# stg_pos_lines: one step per region, as the POS import (the close's critical path)
# ---------------------------------------------------------------------------------------------

POS_SOURCE = "pos_transactions"
POS_STEP = "stg_pos_lines"
POS_DESCRIPTION = (
    "Store transaction lines, typed and deduplicated on (transaction_id, sku) (re-sent rows removed), "
    "currency codes upper-cased, amounts in USD cents at the business date's rate. Voids are kept "
    "(the metrics ignore them); walk-in sales have no customer_id.")


@dataclass
class LinesPart:
    """What one region's step found for one date; its rows are staged in the warehouse, not yet
    visible. ``transaction_ids``: the distinct raw transaction ids, for the publish step to rule out
    a (transaction_id, sku) delivered in two regions' files (no shared transaction, no shared key)."""

    label: str
    day: dt.date
    rows: int
    counts: list[SchemaCount]
    stats: dict                 # what the duplicates and no_rows_lost checks read
    metadata: dict              # CleanStats.as_metadata()
    transaction_ids: pa.Array
    transactions: int           # distinct transaction ids staged
    walk_in_lines: int


def _lines_metadata(meta: dict, transactions: int, walk_in_lines: int) -> dict:
    return {**meta, "transactions": transactions, "walk_in_lines": walk_in_lines}


def _distinct(values: pd.Series) -> pa.Array:
    return pc.unique(pa.array(values, type=pa.string()))


def _pos_lines_parts(platform: PlatformResource, wh, label: str, file_name: str, days: list[dt.date], run_id: str
                     ) -> list[LinesPart]:
    """Read each date's lines of one region, transform them and stage them as that region's part of
    the date's new version; validate them (a range's dates together, ``DatasetContract.counted``)."""
    contract = S.CONTRACTS[keys.STG_POS_LINES]

    def staged(day: dt.date) -> tuple[dt.date, pd.DataFrame, Any, pd.DataFrame]:
        raw = wh.read(raw_table(POS_SOURCE), day, day, where={"_file": [file_name]})
        frame, stats = _guard(lambda: T.pos_lines(raw, read_rates(wh, day), day))
        platform.warehouse().stage(table(keys.STG_POS_LINES), day, staging_token(run_id, POS_STEP, day), frame,
                                   "region", label)
        return day, frame, stats, raw

    return [LinesPart(label, day, len(frame), counts, _stats(stats, raw, S.stg_pos_lines.KEY), stats.as_metadata(),
                      _distinct(raw["transaction_id"]), len(_distinct(frame["transaction_id"])),
                      int(frame["customer_id"].isna().sum()))
            for (day, frame, stats, raw), counts in contract.counted(map(staged, days), lambda item: item[1])]


def _added(parts: list[LinesPart], attribute: str) -> dict:
    total: dict = {}
    for part in parts:
        for name, value in getattr(part, attribute).items():
            total[name] = total.get(name, 0) + value
    return total


def pos_lines_asset(team: Team) -> dg.AssetsDefinition:
    """stg_pos_lines as a graph: each region's lines are read, transformed, checked and staged by a
    step of its own, in parallel (the three of them on the close's critical path once the import
    is done); a publish step adds their check results up and makes the parts the partition at once,
    or drops them. Parts are independent only when no (transaction_id, sku) was delivered in two
    regions' files (deduplication would pick across files); a date where a transaction was is
    transformed whole in the publish step, as a single step would."""
    regions = registry.get(POS_SOURCE).contract.split_files
    check_specs = _checks(keys.STG_POS_LINES)
    check_outputs = [spec.get_python_identifier() for spec in check_specs]
    spec = _spec(keys.STG_POS_LINES, POS_DESCRIPTION, "sales", team, [])

    def region_op(label: str, file_name: str) -> dg.OpDefinition:
        @dg.op(name=f"lines_{label.lower()}", ins={"raw": dg.In(dg.Nothing), "fx": dg.In(dg.Nothing)},
               tags={**scheduling.op_tags(POS_STEP), "platform/part": label}, pool=scheduling.pool(POS_STEP),
               description=f"Transform, check and stage the {label} lines of {file_name} (not yet visible).")
        def _lines(context: dg.OpExecutionContext, platform: PlatformResource) -> list:
            return _pos_lines_parts(platform, input_reads(platform, context), label, file_name,
                                    list(partition_dates(context)), context.run.run_id)

        return _lines

    @dg.op(name="publish_lines", tags=scheduling.op_tags(POS_STEP), pool=scheduling.pool(POS_STEP),
           out={"result": dg.Out(dg.Nothing, is_required=False),
                **{name: dg.Out(dg.Nothing, is_required=False) for name in check_outputs}},
           description="Judge each date's lines as a whole from the regions' checks and publish the staged parts "
                       "at once, or drop them.")
    def publish_lines(context: dg.OpExecutionContext, platform: PlatformResource, parts: list):
        wh, run_id = input_reads(platform, context), context.run.run_id
        pub = _publisher(keys.STG_POS_LINES, platform, context)
        by_day: dict[dt.date, list[LinesPart]] = {}
        for part in (p for region_parts in parts for p in region_parts):
            by_day.setdefault(part.day, []).append(part)
        stg = table(keys.STG_POS_LINES)
        for day in partition_dates(context):
            token, day_parts = staging_token(run_id, POS_STEP, day), by_day[day]
            ids = pd.Series(pa.concat_arrays([p.transaction_ids for p in day_parts]), dtype=pd.ArrowDtype(pa.string()))
            if len(pd.unique(ids)) < len(ids):  # pd.unique: 50 ms for 420k ids, pc.count_distinct 200 ms
                platform.warehouse().discard(stg, day, token)
                context.log.warning(f"stg_pos_lines {day}: a transaction was delivered in more than one region's "
                                    "file; the date is deduplicated and checked whole")
                raw = read_raw(wh, POS_SOURCE, day)
                frame, stats = _guard(lambda d=day: T.pos_lines(raw, read_rates(wh, d), d))
                pub.publish(frame, day, _stats(stats, raw, S.stg_pos_lines.KEY))
                metadata = _lines_metadata(stats.as_metadata(), int(frame["transaction_id"].nunique()),
                                           int(frame["customer_id"].isna().sum()))
                continue
            counts = [sum(found, start=first) for first, *found in zip(*(p.counts for p in day_parts))]
            labels = [p.label for p in day_parts]
            pub.publish_parts(day, counts, sum(p.rows for p in day_parts), _added(day_parts, "stats"),
                              write=lambda d=day, t=token: platform.warehouse().publish(stg, d, t, "region", labels),
                              discard=lambda d=day, t=token: platform.warehouse().discard(stg, d, t))
            metadata = _lines_metadata(_added(day_parts, "metadata"), sum(p.transactions for p in day_parts),
                                       sum(p.walk_in_lines for p in day_parts))
        yield from pub.outputs(metadata, output="result")

    region_ops = [region_op(label, file_name) for label, file_name in regions.items()]

    @dg.graph_asset(
        key=keys.STG_POS_LINES, description=spec.description, partitions_def=DAILY_PARTITIONS,
        ins={"raw": dg.AssetIn(key=keys.raw_key(POS_SOURCE), dagster_type=dg.Nothing),
             "fx": dg.AssetIn(key=keys.STG_FX_RATES, dagster_type=dg.Nothing)},
        check_specs=check_specs, kinds=spec.kinds, code_version=spec.code_version, metadata=spec.metadata,
        automation_condition=spec.automation_condition, group_name=spec.group_name, owners=spec.owners,
        tags=spec.tags, backfill_policy=scheduling.backfill_policy(POS_STEP),
    )
    def stg_pos_lines(raw, fx):
        return publish_lines([op(raw=raw, fx=fx) for op in region_ops])

    return stg_pos_lines


def _guard(fn):
    """Turn a missing FX rate into a step failure that says what to do."""
    try:
        return fn()
    except T.MissingRate as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def defs(team: Team) -> dg.Definitions:
    return dg.Definitions(assets=build(team))
