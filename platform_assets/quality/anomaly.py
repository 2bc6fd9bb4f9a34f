"""Dynamic thresholds for a report's key metrics (replacing static ones that cause alert fatigue).

For a metric on business date D the baseline is its value on the same weekday of the previous
weeks (D-7, D-14, ...); with too few of those, the trailing days before D, and then at least a
full week of them, so weekday seasonality (a busy Saturday) is inside the baseline's spread. D itself is never part
of its own baseline. The expected range is the baseline median +/- the widest of:
``mad_multiplier`` x 1.4826 x MAD (a robust standard deviation), ``relative_floor`` x |median|,
and an absolute floor for the metric's kind, so small numbers don't page anyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AnomalyParams:
    same_weekday_weeks: int = 4
    min_same_weekday: int = 3
    trailing_days: int = 13
    min_trailing_points: int = 7   # a full week, so weekly seasonality is inside the spread
    mad_multiplier: float = 4.0
    relative_floor: float = 0.15
    absolute_floors: tuple[tuple[str, float], ...] = (("money_usd", 1000.0), ("count", 25.0), ("ratio", 0.05))

    @classmethod
    def from_config(cls, cfg: dict) -> AnomalyParams:
        floors = tuple(sorted((cfg.get("absolute_floors") or dict(cls.absolute_floors)).items()))
        keys = ("same_weekday_weeks", "min_same_weekday", "trailing_days", "min_trailing_points", "mad_multiplier",
                "relative_floor")
        return cls(**{k: cfg[k] for k in keys if k in cfg}, absolute_floors=floors)

    def floor(self, kind: str) -> float:
        return dict(self.absolute_floors).get(kind, 0.0)


@dataclass(frozen=True)
class Expected:
    metric: str
    observed: float
    median: float | None
    low: float | None
    high: float | None
    points: int
    basis: str                  # "same weekday", "trailing days", or why it was not judged

    @property
    def judged(self) -> bool:
        return self.median is not None

    @property
    def anomalous(self) -> bool:
        return self.judged and not (self.low <= self.observed <= self.high)

    def as_dict(self) -> dict:
        return {"observed": self.observed, "expected_low": self.low, "expected_high": self.high,
                "median": self.median, "baseline_points": self.points, "basis": self.basis}


def baseline(history: pd.Series, day: dt.date, params: AnomalyParams) -> tuple[pd.Series, str]:
    """The values the day is compared with, and how they were chosen. ``history`` is indexed by
    business date (Timestamp); the day itself is dropped if present."""
    d = pd.Timestamp(day)
    history = history.dropna()
    if history.empty:
        return history, "no history"
    history.index = pd.to_datetime(history.index)
    history = history[history.index < d]
    same = [d - pd.Timedelta(weeks=w) for w in range(1, params.same_weekday_weeks + 1)]
    chosen = history[history.index.isin(same)]
    if len(chosen) >= params.min_same_weekday:
        return chosen, "same weekday"
    trailing = history[history.index >= d - pd.Timedelta(days=params.trailing_days)]
    return trailing, "trailing days"


def expected_range(metric: str, kind: str, observed: float, history: pd.Series, day: dt.date,
                   params: AnomalyParams) -> Expected:
    values, basis = baseline(history, day, params)
    needed = params.min_same_weekday if basis == "same weekday" else params.min_trailing_points
    if len(values) < needed:
        return Expected(metric, observed, None, None, None, len(values),
                        f"not judged: {len(values)} baseline point(s), {needed} needed")
    median = float(values.median())
    mad = float((values - median).abs().median())
    half = max(params.mad_multiplier * MAD_TO_SIGMA * mad, params.relative_floor * abs(median), params.floor(kind))
    return Expected(metric, observed, median, median - half, median + half, len(values), basis)


def judge(today: dict[str, float], kinds: dict[str, str], history: pd.DataFrame, day: dt.date,
          params: AnomalyParams) -> list[Expected]:
    """One Expected per metric; ``history`` has a row per earlier business date, a column per metric."""
    out = []
    for metric, value in today.items():
        series = history[metric] if metric in history.columns else pd.Series(dtype=float)
        out.append(expected_range(metric, kinds.get(metric, "count"), float(value), series, day, params))
    return out
