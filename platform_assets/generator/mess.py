"""The defects the generator injects: what, how often, and on which day.

Days are counted from ``--start`` (day 0) and the schedule repeats every 14 days, so any run of
14 days or more carries every defect. ``docs/sample-data.md`` is the same table in prose, with
what the platform does about each defect and the test that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CYCLE_DAYS = 14


@dataclass(frozen=True)
class MessPlan:
    name: str
    # Rates applied every day.
    pos_duplicate_rate: float = 0.0        # POS rows sent twice (same file)
    order_duplicate_rate: float = 0.0      # orders sent twice in orders.jsonl
    event_duplicate_rate: float = 0.0      # app events sent twice
    pos_negative_quantity_rate: float = 0.0
    pos_missing_price_rate: float = 0.0
    # Defects on given days of the cycle (day index modulo CYCLE_DAYS).
    lowercase_currency_days: tuple[int, ...] = ()
    lowercase_currency_rate: float = 0.0
    resent_file_days: tuple[int, ...] = ()         # refunds re-delivered unchanged
    late_pos_days: tuple[int, ...] = ()            # POS lands after 07:00
    truncated_pos_days: tuple[int, ...] = ()       # first POS APAC delivery cut short
    ledger_mismatch_days: tuple[int, ...] = ()     # GL revenue off for EMEA
    ledger_mismatch_ratio: float = 0.025
    missing_fx_days: tuple[int, ...] = ()          # GBP absent from fx_rates.csv
    stale_products_days: tuple[int, ...] = ()      # products snapshot from 40 days earlier
    added_column_from_day: int | None = None       # POS gains `loyalty_tier` from this day on
    outlier_days: tuple[int, ...] = ()             # online orders x3 (flash sale)
    renamed_column_days: tuple[int, ...] = ()      # first refunds delivery renames `amount`
    stale_fx_days: tuple[int, ...] = ()            # provider repeats older rates
    over_threshold_days: tuple[int, ...] = ()      # POS EMEA with 4% invalid rows (batch fails)
    walk_in_rate: float = 0.4                       # not a defect: walk-ins are normal
    notes: dict[str, str] = field(default_factory=dict)

    def on(self, days: tuple[int, ...], day_index: int) -> bool:
        return (day_index % CYCLE_DAYS) in days

    def has_added_column(self, day_index: int) -> bool:
        return self.added_column_from_day is not None and day_index >= self.added_column_from_day


NONE = MessPlan("none")

DEFAULT = MessPlan(
    "default",
    pos_duplicate_rate=0.005,
    order_duplicate_rate=0.003,
    event_duplicate_rate=0.002,
    pos_negative_quantity_rate=0.0005,
    pos_missing_price_rate=0.0005,
    lowercase_currency_days=(1,),
    lowercase_currency_rate=0.10,
    resent_file_days=(2,),
    late_pos_days=(3, 10),
    truncated_pos_days=(4,),
    ledger_mismatch_days=(5,),
    missing_fx_days=(6,),
    stale_products_days=(7,),
    added_column_from_day=8,
    renamed_column_days=(11,),
    outlier_days=(12,),
    stale_fx_days=(12, 13),
)

HEAVY = MessPlan(
    "heavy",
    pos_duplicate_rate=0.05,
    order_duplicate_rate=0.03,
    event_duplicate_rate=0.02,
    pos_negative_quantity_rate=0.002,
    pos_missing_price_rate=0.002,
    lowercase_currency_days=(1, 5, 9),
    lowercase_currency_rate=0.5,
    resent_file_days=(2, 6),
    late_pos_days=(0, 3, 5, 8, 10, 13),
    truncated_pos_days=(4,),
    ledger_mismatch_days=(5, 9),
    missing_fx_days=(6,),
    stale_products_days=(7,),
    added_column_from_day=8,
    renamed_column_days=(11,),
    outlier_days=(12,),
    stale_fx_days=(12, 13),
    over_threshold_days=(9,),
)

PLANS = {"none": NONE, "default": DEFAULT, "heavy": HEAVY}
