"""Engagement for investors: active users, sessions, email, SMS and reviews."""

import dagster as dg
import pandas as pd

from platform_assets import keys
from platform_assets.conventions import input_reads, partition_dates
from platform_assets.metrics import engagement
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.reports import input_window, report_attributes, report_table, staging
from platform_assets.engagement.schemas import aggregate_engagement as aggregate_engagement_schema
from platform_assets.quality.publish import Publisher, publish_each
from platform_assets.resources import PlatformResource
from platform_assets.team import Team

CODE_VERSION = "1"
MAU_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-(engagement.MAU_DAYS - 1))


def build(team: Team) -> list[dg.AssetsDefinition]:
    @dg.asset(
        deps=[dg.AssetDep(keys.STG_ACTIVE_USERS, partition_mapping=MAU_WINDOW), keys.STG_MARKETING_ENGAGEMENT],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "Engagement per business date, for investors: DAU, WAU (7 days), MAU (28 days), DAU/MAU, sessions "
            "and sessions per DAU, in total and per platform (ios, android, web); email and SMS sends, opens "
            "and clicks; review count and mean rating. WAU/MAU read the trailing 28 partitions of "
            "stg_active_users through a partition mapping (wau_days/mau_days show partial windows). "
            "Definitions: platform_assets/metrics/engagement.py. SLA: by 08:00 America/New_York daily (high)."),
        **report_attributes(keys.AGGREGATE_ENGAGEMENT, contract=aggregate_engagement_schema.CONTRACT,
                            domain="engagement", team=team, code_version=CODE_VERSION),
    )
    def aggregate_engagement(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(aggregate_engagement_schema.CONTRACT, platform, report_table(keys.AGGREGATE_ENGAGEMENT), context.log)
        start, end = input_window(context, keys.STG_ACTIVE_USERS)
        active = engagement.ActiveUsers(staging(wh, keys.STG_ACTIVE_USERS, start, end,
                                                columns=["business_date", "user_id", "platform", "sessions"]))
        days = ((day, [(engagement.aggregate_engagement(active, staging(wh, keys.STG_MARKETING_ENGAGEMENT, day), day),
                        None)]) for day in partition_dates(context))
        frame = pd.concat([outputs[0][0] for _, outputs in publish_each([pub], days)], ignore_index=True)
        last = frame.iloc[-1]
        yield from pub.outputs({
            **{m: (int(last[m]) if m != "dau_mau" else last[m]) for m in ("dau", "wau", "mau", "dau_mau", "sessions")},
            "sessions_per_dau": last["sessions_per_dau"], "email_sends": int(last["email_sends"]),
            "sms_sends": int(last["sms_sends"]), "reviews": int(last["reviews"]), "mean_rating": last["mean_rating"],
            "mau_days": int(last["mau_days"]), "upstream_window": f"{start}..{end}"})

    return [aggregate_engagement]
