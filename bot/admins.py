"""Who counts as an admin: workspace admins and owners (users.info) and `DEPLOYBOT_ADMINS`."""

from __future__ import annotations

import logging
from collections.abc import Collection

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_errors import SLACK_FAILURES

log = logging.getLogger(__name__)


async def is_admin(client: AsyncWebClient, user_id: str, extra_admins: Collection[str]) -> bool:
    """True for `DEPLOYBOT_ADMINS` and for workspace admins and owners; False when unsure."""
    if user_id in extra_admins:
        return True
    try:
        response = await client.users_info(user=user_id)
    except SLACK_FAILURES:
        log.warning("users.info failed for %s; treating as not an admin", user_id, exc_info=True)
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
