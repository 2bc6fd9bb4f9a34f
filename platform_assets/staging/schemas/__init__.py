"""One pandera contract per staging dataset (module name = asset name)."""

from platform_assets.staging.schemas import (
    stg_active_users, stg_app_events, stg_customer_first_orders, stg_customers, stg_experiment_assignments,
    stg_fx_rates, stg_gl_entries, stg_marketing_engagement, stg_marketing_spend, stg_order_lines, stg_orders,
    stg_pos_lines, stg_products, stg_refunds,
)

CONTRACTS = {m.CONTRACT.key: m.CONTRACT for m in (
    stg_active_users, stg_app_events, stg_customer_first_orders, stg_customers, stg_experiment_assignments,
    stg_fx_rates, stg_gl_entries, stg_marketing_engagement, stg_marketing_spend, stg_order_lines, stg_orders,
    stg_pos_lines, stg_products, stg_refunds,
)}
