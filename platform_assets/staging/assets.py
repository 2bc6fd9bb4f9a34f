"""Staging assets: thin Dagster wrappers that read raw partitions, call ``transforms``, and publish
each partition only after its contract's checks pass (staging/schemas, quality/publish.py).
Each processes every date of its run (one, or a backfill range).
"""

import datetime as dt

import dagster as dg
import pandas as pd

from platform_assets import keys, scheduling
from platform_assets.automation import DOWNSTREAM
from platform_assets.conventions import asset_attributes, input_reads, partition_dates, runbook_metadata
from platform_assets.ingestion import registry
from platform_assets.ingestion.framework import raw_table
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.quality.common import raw_distinct_keys
from platform_assets.quality.publish import Publisher
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
        for day in partition_dates(context):
            window = wh.read(raw_table("fx_rates"), day - dt.timedelta(days=T.FX_LOOKBACK_DAYS), day)
            rates = T.effective_fx_rates(window, day)
            if len(rates) <= 1:
                raise dg.Failure(f"stg_fx_rates {day}: no FX rates delivered on or in the {T.FX_LOOKBACK_DAYS} days "
                                 "before this date")
            fallbacks = rates[rates["is_fallback"]]
            note = ", ".join(f"{c} (rate of {d:%Y-%m-%d})" for c, d in zip(fallbacks["currency"], fallbacks["rate_date"]))
            if note:
                context.log.warning(f"stg_fx_rates {day}: no current rate for {note}; using the latest earlier rate")
            pub.publish(rates, day)
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
        for day in partition_dates(context):
            frame, stats = T.products(read_raw(wh, "products", day), read_rates(wh, day), day)
            pub.publish(frame, day, stats.check_stats())
        yield from pub.outputs({**stats.as_metadata(), "skus": int(frame["sku"].nunique())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_POS_LINES,
        "Store transaction lines, typed and deduplicated on (transaction_id, sku) (re-sent rows removed), "
        "currency codes upper-cased, amounts in USD cents at the business date's rate. Voids are kept "
        "(the metrics ignore them); walk-in sales have no customer_id.",
        "sales", deps=[_raw_dep("pos_transactions"), _fx_dep()], **a)], check_specs=_checks(keys.STG_POS_LINES),
        partitions_def=DAILY_PARTITIONS, name="stg_pos_lines",
        **scheduling.asset_step("stg_pos_lines"))
    def stg_pos_lines(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_POS_LINES, platform, context)
        for day in partition_dates(context):
            raw = read_raw(wh, "pos_transactions", day)
            frame, stats = _guard(lambda d=day: T.pos_lines(raw, read_rates(wh, d), d))
            pub.publish(frame, day, _stats(stats, raw, S.stg_pos_lines.KEY))
        yield from pub.outputs({**stats.as_metadata(), "transactions": int(frame["transaction_id"].nunique()),
                                "walk_in_lines": int(frame["customer_id"].isna().sum())})

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
        for day in partition_dates(context):
            raw = read_raw(wh, "orders", day)
            orders, lines, stats = _guard(lambda d=day: T.orders(raw, read_rates(wh, d), d))
            orders_pub.publish(orders, day, _stats(stats, raw, S.stg_orders.KEY))
            lines_pub.publish(lines, day)
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
        for day in partition_dates(context):
            raw = read_raw(wh, "refunds", day)
            frame, stats = _guard(lambda d=day: T.refunds(raw, read_rates(wh, d), d,
                                                          recent[recent["business_date"] <= pd.Timestamp(d)]))
            pub.publish(frame, day, _stats(stats, raw, S.stg_refunds.KEY))
        yield from pub.outputs({**stats.as_metadata(), "refunds_usd": float(frame["amount_usd_cents"].sum()) / 100,
                                "refunds_of_unknown_orders": int(frame["customer_id"].isna().sum())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_GL_ENTRIES, "The finance ledger's entries of the day by entity and account, in USD cents.",
        "finance", deps=[_raw_dep("gl_entries"), _fx_dep()], **a)], check_specs=_checks(keys.STG_GL_ENTRIES),
        partitions_def=DAILY_PARTITIONS, name="stg_gl_entries",
        **scheduling.asset_step("stg_gl_entries"))
    def stg_gl_entries(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_GL_ENTRIES, platform, context)
        for day in partition_dates(context):
            raw = read_raw(wh, "gl_entries", day)
            frame, stats = _guard(lambda d=day: T.gl_entries(raw, read_rates(wh, d), d))
            pub.publish(frame, day, _stats(stats, raw, S.stg_gl_entries.KEY))
        yield from pub.outputs(stats.as_metadata())

    @dg.multi_asset(specs=[_spec(
        keys.STG_CUSTOMERS, "Customers who signed up on the business date, deduplicated on customer_id.",
        "customers", deps=[_raw_dep("customers")], **a)], check_specs=_checks(keys.STG_CUSTOMERS),
        partitions_def=DAILY_PARTITIONS, name="stg_customers",
        **scheduling.asset_step("stg_customers"))
    def stg_customers(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_CUSTOMERS, platform, context)
        for day in partition_dates(context):
            raw = read_raw(wh, "customers", day)
            frame, stats = T.customers(raw, day)
            pub.publish(frame, day, _stats(stats, raw, S.stg_customers.KEY))
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
        for day in partition_dates(context):
            raw = read_raw(wh, "app_events", day)
            events, stats = T.app_events(raw, day)
            users = T.active_users(events, day)
            events_pub.publish(events, day, _stats(stats, raw, S.stg_app_events.KEY))
            users_pub.publish(users, day)
        yield from events_pub.outputs(stats.as_metadata())
        yield from users_pub.outputs({"rows": len(users), "active_users": int(users["user_id"].nunique())})

    @dg.multi_asset(specs=[_spec(
        keys.STG_EXPERIMENT_ASSIGNMENTS, "Experiment assignments as of the date (full snapshot), deduplicated "
        "on (experiment_id, unit_type, unit_id).", "customers", deps=[_raw_dep("experiment_assignments")], **a)],
        check_specs=_checks(keys.STG_EXPERIMENT_ASSIGNMENTS), partitions_def=DAILY_PARTITIONS,
        name="stg_experiment_assignments", **scheduling.asset_step("stg_experiment_assignments"))
    def stg_experiment_assignments(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh, pub = input_reads(platform, context), _publisher(keys.STG_EXPERIMENT_ASSIGNMENTS, platform, context)
        for day in partition_dates(context):
            raw = read_raw(wh, "experiment_assignments", day)
            frame, stats = T.experiment_assignments(raw, day)
            pub.publish(frame, day, _stats(stats, raw, S.stg_experiment_assignments.KEY))
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
        for day in partition_dates(context):
            normalized = {}
            for s in marketing:
                raw = read_raw(wh, s.name, day)
                normalized[s.name] = (T.Platform(s.channel, s.acquisition_channel), s.normalize(raw) if len(raw) else {})
            spend, engagement = _guard(lambda d=day: T.marketing(normalized, read_rates(wh, d), d))
            spend_pub.publish(spend, day)
            engagement_pub.publish(engagement, day)
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


def _guard(fn):
    """Turn a missing FX rate into a step failure that says what to do."""
    try:
        return fn()
    except T.MissingRate as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def defs(team: Team) -> dg.Definitions:
    return dg.Definitions(assets=build(team))
