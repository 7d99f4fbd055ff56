"""Thread replies after the start: changes of status, answers to Stop, the end of following."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from blocks.messages import Message, thread_reply
from blocks.text import code, escape, mention

# The states deploybot knows (bot.cards.VENDOR_STATES' words) -> the mark of a reply.
_MARKS: Final[Mapping[str, str]] = {
    "pending": "🕓",
    "running": "🟢",
    "stopping": "🟠",
    "stopped": "⏹️",
    "failed": "❌",
}
_OTHER_MARK: Final = "⚠️"
_MINUTE: Final = 60


def status_reply(  # noqa: PLR0913 — one keyword per fact of the reply, all keyword-only
    *,
    state: str | None,
    status_name: str,
    deployment_id: str,
    fail_reason: str | None,
    by: str | None = None,
    requester: str | None = None,
) -> Message:
    """The reply that reports a deployment's state, after a change or when someone asked.

    `state` is one of the states deploybot knows (pending, running, stopping, stopped, failed),
    None for a status it does not; `status_name` is how the status reads either way. `by` is
    whoever asked for it (Refresh), None for a change deploybot saw by itself. `requester` is
    mentioned when it failed: that reply is also shown in the channel.
    """
    deployment = code(deployment_id)
    headline = f"{escape(status_name.capitalize())}: {deployment} is {escape(status_name)}."
    next_step = None
    if state == "running":
        headline = f"Running: {deployment} is up."
    elif state == "failed":
        reason = f" {escape(fail_reason)}" if fail_reason else ""
        headline = f"Failed: {deployment} did not run.{reason}"
        if requester:
            headline = f"{mention(requester)} {headline}"
        next_step = "Check the image, registry login and startup script, then *Redeploy*."
    elif state == "stopped" and fail_reason:
        headline += f" {escape(fail_reason)}"
    if by:
        headline += f" (checked by {mention(by)})"
    return thread_reply(
        emoji=_MARKS.get(state or "", _OTHER_MARK), headline=headline, next_step=next_step
    )


def status_detail(*, status_name: str, since: datetime, fail_reason: str | None) -> str:
    """The parent message's detail line: the state and how long it has lasted."""
    line = f"{escape(status_name.capitalize())} {since_token(since)}"
    if fail_reason:
        line += f": {escape(fail_reason)}"
    return line


def since_token(moment: datetime) -> str:
    """Slack's date token: each reader sees their own time zone, others see UTC."""
    fallback = moment.strftime("%H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^since {{time}}|since {fallback}>"


def stop_impossible_reply() -> Message:
    """Stop was asked of a deployment with no Hiveon ID, or a workspace without a key."""
    return thread_reply(emoji="❌", headline="There is no Hiveon ID or API key to stop it with.")


def stop_asked_reply(*, deployment_id: str, by: str) -> Message:
    """Hiveon took the stop request; the thread follows the deployment to its end."""
    return thread_reply(
        emoji="⏹️", headline=f"{mention(by)} asked Hiveon to stop {code(deployment_id)}."
    )


def stop_refused_reply(
    *, deployment_id: str, by: str, http_status: int, vendor_message: str | None
) -> Message:
    """Hiveon refused to stop it: its status, its message if any, and what to do."""
    said = f" Hiveon says: “{escape(vendor_message)}”" if vendor_message else ""
    return thread_reply(
        emoji="❌",
        headline=f"Hiveon refused to stop {code(deployment_id)} for {mention(by)} "
        f"(HTTP {http_status}).{said}",
        next_step="Check the deployment in Hiveon; an admin or the requester can try again.",
    )


def stop_unclear_reply(*, deployment_id: str, by: str, reason: str) -> Message:
    """The stop request got no clear answer (`reason`, the vendor client's); it is followed."""
    return thread_reply(
        emoji="⚠️",
        headline=f"The stop request for {code(deployment_id)} by {mention(by)} got no clear "
        f"answer ({escape(reason)}); deploybot keeps following it.",
        next_step="If it is still running in a minute, press *Stop* again.",
    )


def gave_up_reply(*, followed_for: timedelta) -> Message:
    """Still pending once following ran out: deploybot stops looking; buttons still work."""
    return thread_reply(
        emoji="🕓",
        headline=f"Still pending after {duration(followed_for)}; deploybot stopped following it.",
        next_step="Press *Refresh* to check again, or *Stop* it.",
    )


def duration(span: timedelta) -> str:
    """`30 minutes`, `1 minute`, `45 seconds`: how long following lasted, in words."""
    seconds = round(span.total_seconds())
    value, unit = (seconds, "second")
    if seconds >= _MINUTE and seconds % _MINUTE == 0:
        value, unit = (seconds // _MINUTE, "minute")
    return f"{value} {unit}{'' if value == 1 else 's'}"
