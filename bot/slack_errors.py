"""What a call to Slack may raise when it fails: the one tuple every caller catches."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackClientError

# slack_sdk's own errors (an API error, a client error), a dropped connection, a timeout.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)
