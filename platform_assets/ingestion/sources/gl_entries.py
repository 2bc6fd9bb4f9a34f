"""The finance ledger's daily export: what finance booked, to reconcile the close against."""

from platform_assets.ingestion.contract import DateRule, SourceContract, currency, date, decimal, enum, text

CONTRACT = SourceContract(
    name="gl_entries",
    description="General-ledger entries of the day by entity and account (gl_entries.csv, exported "
    "by finance's tool with a BOM and CRLF line endings).",
    domain="finance",
    format="csv",
    files=r"gl_entries\.csv",
    required_files=("gl_entries.csv",),
    fields=(
        text("entry_id"),
        date("gl_date"),
        enum("entity", ("AMER", "EMEA", "APAC", "ONLINE")),
        enum("account", ("revenue", "refunds", "cogs", "marketing")),
        decimal("amount"),
        currency(),
    ),
    business_key=("entry_id",),
    date_rule=DateRule("gl_date"),
    max_reject_rate=0.0,  # finance's numbers are all or nothing
)
