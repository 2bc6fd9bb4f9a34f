"""New customer sign-ups of the day."""

from platform_assets.ingestion.contract import DateRule, SourceContract, text, timestamp

CONTRACT = SourceContract(
    name="customers",
    description="Customers who signed up on the business date (customers.csv).",
    domain="customers",
    format="csv",
    files=r"customers\.csv",
    required_files=("customers.csv",),
    fields=(
        text("customer_id"),
        timestamp("signup_at", utc_only=True),
        text("acquisition_channel"),
        text("country"),
    ),
    business_key=("customer_id",),
    date_rule=DateRule("signup_at"),
    max_reject_rate=0.01,
)
