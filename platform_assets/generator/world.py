"""The simulated retailer: stores, products, customers, FX and campaigns.

Everything here is a pure function of (seed, scale, date), so any day can be generated alone
and two runs with the same seed write byte-identical files. Per-entity attributes (a
customer's country, a SKU's cost) come from a counter-based hash instead of a sequential
random stream, which keeps them stable however many days are generated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from platform_assets.partitions import FIRST_BUSINESS_DATE

EPOCH = FIRST_BUSINESS_DATE
REGIONS = ("AMER", "EMEA", "APAC")
# (store timezone, currency, share of stores) per region.
REGION_STORES = {
    "AMER": [("America/New_York", "USD", 0.7), ("America/Toronto", "CAD", 0.3)],
    "EMEA": [("Europe/London", "GBP", 0.4), ("Europe/Paris", "EUR", 0.6)],
    "APAC": [("Asia/Tokyo", "JPY", 0.5), ("Australia/Sydney", "AUD", 0.5)],
}
TAX_RATE = {"AMER": 0.08, "EMEA": 0.20, "APAC": 0.10}
CURRENCIES = ("USD", "CAD", "EUR", "GBP", "JPY", "AUD")
FX_BASE = {"USD": 1.0, "CAD": 0.74, "EUR": 1.09, "GBP": 1.27, "JPY": 0.0068, "AUD": 0.66}
# Decimal places the FX provider quotes usd_per_unit with.
FX_DECIMALS = {"USD": 6, "CAD": 6, "EUR": 6, "GBP": 6, "JPY": 8, "AUD": 6}
CATEGORIES = ("apparel", "footwear", "accessories", "home", "beauty", "outdoor", "kids", "electronics")
COUNTRIES = (("US", "USD", 0.62), ("CA", "CAD", 0.10), ("GB", "GBP", 0.12), ("DE", "EUR", 0.09), ("FR", "EUR", 0.07))
ACQUISITION_CHANNELS = (
    ("organic", 0.30), ("paid_social", 0.22), ("pinterest", 0.10), ("email", 0.12),
    ("sms", 0.06), ("referral", 0.10), ("search", 0.10),
)
PLATFORMS = (("ios", 0.42), ("android", 0.33), ("web", 0.25))


@dataclass(frozen=True)
class Scale:
    name: str
    stores: int
    skus: int
    pos_rows: int          # POS rows (transaction lines) per day
    orders: int            # online orders per day
    app_events: int        # app events per day (approximate)
    customer_base: int     # customers who existed before the epoch
    signups: int           # new customers per day
    app_user_share: float  # share of customers who use the app or website
    tiktok_campaigns: int
    pinterest_campaigns: int
    reviews: int


SCALES = {
    "small": Scale("small", stores=30, skus=400, pos_rows=20_000, orders=3_000,
                   app_events=40_000, customer_base=20_000, signups=250,
                   app_user_share=0.25, tiktok_campaigns=6, pinterest_campaigns=4, reviews=40),
    "bench": Scale("bench", stores=300, skus=4_000, pos_rows=1_000_000, orders=150_000,
                   app_events=2_000_000, customer_base=2_000_000, signups=6_000,
                   app_user_share=0.25, tiktok_campaigns=40, pinterest_campaigns=25, reviews=1_500),
}

# Stream ids keep each source's random numbers independent of the others.
STREAMS = {name: i for i, name in enumerate((
    "pos", "orders", "order_skeleton", "refund_plan", "customers_count", "customers", "events",
    "fx", "marketing", "reviews", "gl", "arrivals", "mess", "products",
))}


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def rng(seed: int, day: dt.date, stream: str, extra: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, day_number(day) + 10_000, STREAMS[stream], extra])


def hash_u64(seed: int, salt: int, values: np.ndarray) -> np.ndarray:
    """splitmix64 of (seed, salt, value): a stable pseudo-random 64-bit number per entity."""
    with np.errstate(over="ignore"):
        x = values.astype(np.uint64) + np.uint64((seed * 1_000_003 + salt * 7_919) & 0xFFFFFFFFFFFF)
        x = (x + np.uint64(0x9E3779B97F4A7C15))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def hash_unit(seed: int, salt: int, values: np.ndarray) -> np.ndarray:
    """A stable uniform number in [0, 1) per entity."""
    return (hash_u64(seed, salt, values) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def pick(weights_items, u: np.ndarray) -> np.ndarray:
    """Index into (item, weight) pairs by a uniform number."""
    weights = np.array([w for *_, w in weights_items], dtype=float)
    return np.searchsorted(np.cumsum(weights / weights.sum()), u, side="right").clip(0, len(weights) - 1)


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(np.int64).astype(str), width))


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    unit_type: str
    variants: tuple[str, ...]
    share: float        # share of units enrolled
    salt: int
    starts: dt.date


EXPERIMENTS = (
    Experiment("exp_checkout_v2", "customer", ("control", "treatment"), 0.10, 101, dt.date(2023, 12, 1)),
    Experiment("exp_free_shipping", "customer", ("control", "free_ship_35", "free_ship_50"), 0.10, 202,
               dt.date(2023, 12, 1)),
    Experiment("exp_store_layout", "store", ("control", "treatment"), 1.0, 303, dt.date(2023, 12, 1)),
)


class World:
    def __init__(self, seed: int, scale: Scale):
        self.seed = seed
        self.scale = scale
        self._signups: dict[int, int] = {}

    # -- stores ---------------------------------------------------------------------------
    @cached_property
    def stores(self) -> dict[str, np.ndarray]:
        n = self.scale.stores
        idx = np.arange(n)
        region_idx = idx % len(REGIONS)
        u = hash_unit(self.seed, 11, idx)
        tz, cur = [], []
        for r, uu in zip(region_idx, u):
            options = REGION_STORES[REGIONS[r]]
            k = pick(options, np.array([uu]))[0]
            tz.append(options[k][0])
            cur.append(options[k][1])
        # Busier stores sell more: a skewed weight per store.
        weight = 0.4 + hash_unit(self.seed, 12, idx) ** 2 * 2.0
        return {
            "store_id": format_ids("S", idx + 1, 4),
            "region": np.array([REGIONS[r] for r in region_idx]),
            "timezone": np.array(tz),
            "currency": np.array(cur),
            "weight": weight / weight.sum(),
        }

    # -- products -------------------------------------------------------------------------
    @cached_property
    def skus(self) -> dict[str, np.ndarray]:
        n = self.scale.skus
        idx = np.arange(n)
        base_cost_cents = np.round(200 + hash_unit(self.seed, 21, idx) ** 1.6 * 9_000).astype(np.int64)
        popularity = 1.0 / (1 + idx) ** 0.8
        perm = np.argsort(hash_u64(self.seed, 22, idx))
        popularity = popularity[perm]
        return {
            "sku": format_ids("SKU-", idx + 1, 5),
            "category": np.array(CATEGORIES)[hash_u64(self.seed, 23, idx) % np.uint64(len(CATEGORIES))],
            "base_cost_cents": base_cost_cents,
            "cost_currency": np.where(hash_unit(self.seed, 24, idx) < 0.1, "EUR", "USD"),
            "markup": 1.8 + hash_unit(self.seed, 25, idx) * 0.8,
            # Each SKU's cost is revised every ~120 days, at its own phase.
            "revision_period": (90 + hash_u64(self.seed, 26, idx) % np.uint64(60)).astype(np.int64),
            "revision_phase": (hash_u64(self.seed, 27, idx) % np.uint64(90)).astype(np.int64),
            "weight": popularity / popularity.sum(),
        }

    def sku_revision(self, day: dt.date) -> np.ndarray:
        """How many cost revisions each SKU has had by ``day`` (0 = the original version)."""
        s = self.skus
        n = day_number(day) + s["revision_phase"]
        return np.maximum(n // s["revision_period"], 0)

    def sku_cost_cents(self, revision: np.ndarray, sku_idx: np.ndarray | None = None) -> np.ndarray:
        s = self.skus
        idx = np.arange(self.scale.skus) if sku_idx is None else sku_idx
        drift = 1 + (hash_unit(self.seed, 28, idx * 1_000 + revision) - 0.4) * 0.12
        return np.round(s["base_cost_cents"][idx] * drift * (1.02 ** np.minimum(revision, 20))).astype(np.int64)

    def revision_start(self, revision: np.ndarray, sku_idx: np.ndarray) -> np.ndarray:
        """Day number (from the epoch) on which a SKU's revision became effective."""
        s = self.skus
        return revision * s["revision_period"][sku_idx] - s["revision_phase"][sku_idx]

    def list_price_usd_cents(self, day: dt.date) -> np.ndarray:
        """Shelf price in USD: cost times markup, ending in .99."""
        s = self.skus
        cost = self.sku_cost_cents(self.sku_revision(day)).astype(float)
        cost_usd = np.where(s["cost_currency"] == "EUR", cost * FX_BASE["EUR"], cost)
        dollars = np.maximum(np.floor(cost_usd * s["markup"] / 100), 1)
        return (dollars * 100 + 99).astype(np.int64)

    # -- FX -------------------------------------------------------------------------------
    def fx_rates(self, day: dt.date) -> dict[str, str]:
        """usd_per_unit per currency on ``day``, as the provider formats it."""
        n = max(day_number(day), 0) + 1
        out = {}
        for i, cur in enumerate(CURRENCIES):
            if cur == "USD":
                out[cur] = f"{1:.{FX_DECIMALS[cur]}f}"
                continue
            steps = np.random.default_rng([self.seed, 77, i]).normal(0, 0.004, size=n)
            rate = FX_BASE[cur] * float(np.exp(steps.sum()))
            out[cur] = f"{rate:.{FX_DECIMALS[cur]}f}"
        return out

    # -- customers ------------------------------------------------------------------------
    def signups_per_day(self, day: dt.date) -> int:
        weekday_factor = (1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2)[day.weekday()]
        return int(rng(self.seed, day, "customers_count").poisson(self.scale.signups * weekday_factor))

    def customers_before(self, day: dt.date) -> int:
        """Customers who exist before ``day`` starts (base plus sign-ups since the epoch)."""
        total = self.scale.customer_base
        d = EPOCH
        while d < day:
            key = day_number(d)
            if key not in self._signups:
                self._signups[key] = self.signups_per_day(d)
            total += self._signups[key]
            d += dt.timedelta(days=1)
        return total

    def customer_attributes(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        country_idx = pick(COUNTRIES, hash_unit(self.seed, 31, ids))
        return {
            "country": np.array([c for c, _, _ in COUNTRIES])[country_idx],
            "currency": np.array([cur for _, cur, _ in COUNTRIES])[country_idx],
            "acquisition_channel": np.array([c for c, _ in ACQUISITION_CHANNELS])[
                pick(ACQUISITION_CHANNELS, hash_unit(self.seed, 32, ids))
            ],
            "platform": np.array([p for p, _ in PLATFORMS])[pick(PLATFORMS, hash_unit(self.seed, 33, ids))],
            "is_app_user": hash_unit(self.seed, 34, ids) < self.scale.app_user_share,
            # How often an app user shows up: a few daily users, many occasional ones.
            "activity": np.choose(
                pick(((0, 0.15), (1, 0.35), (2, 0.5)), hash_unit(self.seed, 35, ids)), [0.6, 0.2, 0.04]
            ),
        }

    @staticmethod
    def customer_ids(numbers: np.ndarray) -> np.ndarray:
        return format_ids("C", numbers, 9)

    # -- experiments ----------------------------------------------------------------------
    def experiment_membership(self, exp: Experiment, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(enrolled mask, variant index) for unit numbers."""
        enrolled = hash_unit(self.seed, exp.salt, units) < exp.share
        variant = (hash_u64(self.seed, exp.salt + 1, units) % np.uint64(len(exp.variants))).astype(np.int64)
        return enrolled, variant
