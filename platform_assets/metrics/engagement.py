"""DAU, WAU, MAU, DAU/MAU, sessions per DAU by platform; email, SMS and reviews.

- DAU: distinct users with an event on the business date; WAU over the 7 days ending on the
  date; MAU over the 28 days ending on it (distinct users of the window, not a sum of DAUs).
  ``all`` counts a user once across platforms. Windows use the days loaded so far
  (``wau_days``/``mau_days`` say how many), so early dates are marked as partial.
- Sessions: distinct sessions on the date; sessions per DAU = sessions / DAU.
- Email (Klaviyo) and SMS (Attentive): sends, opens, clicks of campaigns sent on the date.
- Reviews (Yotpo): count and mean rating of reviews written on the date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from platform_assets.money import ratio
from platform_assets.partitions import PARTITION_COLUMN

PLATFORMS = ("ios", "android", "web")
WAU_DAYS = 7
MAU_DAYS = 28


class ActiveUsers:
    """``stg_active_users`` rows as arrays, built once for a range run's dates: each date counts
    distinct users in 4 scopes x 3 windows of the same rows (boolean filters of Arrow strings, per
    date and window, were most of the report's time)."""

    def __init__(self, active: pd.DataFrame):
        self.days = active[PARTITION_COLUMN].to_numpy(dtype="datetime64[ns]")
        self.users, uniques = pd.factorize(active["user_id"])  # a missing id: -1, not a user
        self.known = self.users >= 0
        self.user_count = len(uniques)
        self.platforms = {p: (active["platform"] == p).to_numpy(dtype=bool, na_value=False) for p in PLATFORMS}
        self.sessions = active["sessions"].to_numpy(dtype="float64", na_value=np.nan)
        self.loaded = set(active[PARTITION_COLUMN].unique())

    def scope(self, platform: str | None, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
        rows = (self.days >= start.to_datetime64()) & (self.days <= end.to_datetime64())
        return rows & self.platforms[platform] if platform else rows

    def distinct(self, rows: np.ndarray) -> int:
        seen = np.zeros(self.user_count, dtype=bool)
        seen[self.users[rows & self.known]] = True
        return int(seen.sum())


def aggregate_engagement(active_users: pd.DataFrame | ActiveUsers, engagement: pd.DataFrame, day: dt.date
                         ) -> pd.DataFrame:
    """One row for the date. ``active_users`` spans at least the 28 days ending on it."""
    d = pd.Timestamp(day)
    active = active_users if isinstance(active_users, ActiveUsers) else ActiveUsers(active_users)
    loaded = active.loaded
    row: dict = {PARTITION_COLUMN: d}
    for platform in (None, *PLATFORMS):
        suffix = f"_{platform}" if platform else ""
        today = active.scope(platform, d, d)
        dau = active.distinct(today)
        wau = active.distinct(active.scope(platform, d - pd.Timedelta(days=WAU_DAYS - 1), d))
        mau = active.distinct(active.scope(platform, d - pd.Timedelta(days=MAU_DAYS - 1), d))
        sessions = int(np.nansum(active.sessions[today]))
        row.update({f"dau{suffix}": dau, f"wau{suffix}": wau, f"mau{suffix}": mau,
                    f"dau_mau{suffix}": _round(ratio(dau, mau)), f"sessions{suffix}": sessions,
                    f"sessions_per_dau{suffix}": _round(ratio(sessions, dau))})
    row["wau_days"] = sum(1 for k in range(WAU_DAYS) if d - pd.Timedelta(days=k) in loaded)
    row["mau_days"] = sum(1 for k in range(MAU_DAYS) if d - pd.Timedelta(days=k) in loaded)
    by_channel = engagement.groupby("channel")[["sends", "opens", "clicks", "reviews", "rating_sum"]].sum() \
        if len(engagement) else pd.DataFrame()

    def total(channel: str, column: str) -> int:
        return int(by_channel.loc[channel, column]) if channel in by_channel.index else 0

    row.update({
        "email_sends": total("email", "sends"), "email_opens": total("email", "opens"),
        "email_clicks": total("email", "clicks"), "sms_sends": total("sms", "sends"),
        "sms_clicks": total("sms", "clicks"), "reviews": total("reviews", "reviews"),
        "mean_rating": _round(ratio(total("reviews", "rating_sum"), total("reviews", "reviews")), 4),
    })
    frame = pd.DataFrame([row])
    ratios = [c for c in frame.columns if c.startswith(("dau_mau", "sessions_per_dau")) or c == "mean_rating"]
    for column in ratios:
        frame[column] = frame[column].astype("float64")
    return frame


def _round(value: float | None, places: int = 6) -> float | None:
    return None if value is None else round(value, places)
