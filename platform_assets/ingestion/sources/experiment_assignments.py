"""Experiment assignments: a full snapshot of the units enrolled in running experiments."""

from platform_assets.ingestion.contract import SourceContract, enum, text, timestamp

CONTRACT = SourceContract(
    name="experiment_assignments",
    description="Which customer or store is in which variant of which experiment (assignments.csv, "
    "a full snapshot as of the business date).",
    domain="customers",
    format="csv",
    files=r"assignments\.csv",
    required_files=("assignments.csv",),
    fields=(
        text("experiment_id"),
        enum("unit_type", ("customer", "store")),
        text("unit_id"),
        text("variant"),
        timestamp("assigned_at", utc_only=True),
    ),
    business_key=("experiment_id", "unit_type", "unit_id"),
    max_reject_rate=0.01,
)
