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

import pandas as pd

from platform_assets.money import ratio
from platform_assets.partitions import PARTITION_COLUMN

PLATFORMS = ("ios", "android", "web")
WAU_DAYS = 7
MAU_DAYS = 28


def _users(active: pd.DataFrame, platform: str | None, start: pd.Timestamp, end: pd.Timestamp) -> int:
    rows = active[(active[PARTITION_COLUMN] >= start) & (active[PARTITION_COLUMN] <= end)]
    if platform:
        rows = rows[rows["platform"] == platform]
    return int(rows["user_id"].nunique())


def aggregate_engagement(active_users: pd.DataFrame, engagement: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """One row for the date. ``active_users`` spans at least the 28 days ending on it."""
    d = pd.Timestamp(day)
    loaded = set(active_users[PARTITION_COLUMN].unique())
    row: dict = {PARTITION_COLUMN: d}
    today = active_users[active_users[PARTITION_COLUMN] == d]
    for platform in (None, *PLATFORMS):
        suffix = f"_{platform}" if platform else ""
        dau = _users(active_users, platform, d, d)
        wau = _users(active_users, platform, d - pd.Timedelta(days=WAU_DAYS - 1), d)
        mau = _users(active_users, platform, d - pd.Timedelta(days=MAU_DAYS - 1), d)
        scoped = today if platform is None else today[today["platform"] == platform]
        sessions = int(scoped["sessions"].sum())
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
