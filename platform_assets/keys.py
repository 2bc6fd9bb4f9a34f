"""Every asset key, defined once and imported everywhere."""

import dagster as dg

# Staging
STG_FX_RATES = dg.AssetKey("stg_fx_rates")
STG_PRODUCTS = dg.AssetKey("stg_products")
STG_POS_LINES = dg.AssetKey("stg_pos_lines")
STG_ORDERS = dg.AssetKey("stg_orders")
STG_ORDER_LINES = dg.AssetKey("stg_order_lines")
STG_REFUNDS = dg.AssetKey("stg_refunds")
STG_GL_ENTRIES = dg.AssetKey("stg_gl_entries")
STG_CUSTOMERS = dg.AssetKey("stg_customers")
STG_APP_EVENTS = dg.AssetKey("stg_app_events")
STG_ACTIVE_USERS = dg.AssetKey("stg_active_users")
STG_EXPERIMENT_ASSIGNMENTS = dg.AssetKey("stg_experiment_assignments")
STG_MARKETING_SPEND = dg.AssetKey("stg_marketing_spend")
STG_MARKETING_ENGAGEMENT = dg.AssetKey("stg_marketing_engagement")
STG_CUSTOMER_FIRST_ORDERS = dg.AssetKey("stg_customer_first_orders")

# Reports
REVENUE_CLOSE = dg.AssetKey("revenue_close")
UNIT_LEVEL_PROFIT = dg.AssetKey("unit_level_profit")
AGGREGATE_PROFIT = dg.AssetKey("aggregate_profit")
DAILY_GROWTH = dg.AssetKey("daily_growth")
AGGREGATE_GROWTH = dg.AssetKey("aggregate_growth")
AGGREGATE_ENGAGEMENT = dg.AssetKey("aggregate_engagement")
REPORTS = (REVENUE_CLOSE, UNIT_LEVEL_PROFIT, AGGREGATE_PROFIT, DAILY_GROWTH, AGGREGATE_GROWTH, AGGREGATE_ENGAGEMENT)


def source_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(source)


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{source}")
