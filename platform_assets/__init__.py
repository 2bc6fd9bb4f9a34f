"""platform_assets: the retailer's data platform as Dagster software-defined assets."""
