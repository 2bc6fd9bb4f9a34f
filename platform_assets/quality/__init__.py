"""Data quality: pandera contracts as Dagster asset checks, reconciliation, anomalies."""
