"""The metrics' parts that need no server: who may read them, and counting Slack's errors."""

from __future__ import annotations

import pytest
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics, SlackErrorCounter, authorized


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("Bearer s3cre", False),
        ("Bearer s3cret-and-more", False),
        ("Basic s3cret", False),
        ("s3cret", False),
        (None, False),
    ],
)
def test_a_token_set_admits_only_its_bearer(header: str | None, *, allowed: bool) -> None:
    """With a token, only `Authorization: Bearer <token>` reads the metrics."""
    assert authorized(header, "s3cret") is allowed


def test_without_a_token_anyone_may_read() -> None:
    """Unset, the metrics are open (behind the platform's own network rules)."""
    assert authorized(None, None)


def _request(method: str) -> HttpRequest:
    return HttpRequest(
        method="POST", url=f"http://slack.test/api/{method}", headers={}, body_params={}
    )


async def test_slack_errors_are_counted_by_method_and_error_and_never_retried() -> None:
    """Each failed answer (`ok: false`, a 429, a broken connection) counts once under its
    method and error; good answers count nothing; the counter never asks for a retry."""
    metrics = Metrics()
    counter = SlackErrorCounter(metrics)
    answers = [
        (
            "chat.postMessage",
            HttpResponse(
                status_code=200, headers={}, body={"ok": False, "error": "not_in_channel"}
            ),
            None,
        ),
        ("chat.postMessage", HttpResponse(status_code=200, headers={}, body={"ok": True}), None),
        ("views.open", HttpResponse(status_code=429, headers={}, body={"ok": False}), None),
        ("chat.update", None, ConnectionResetError("reset")),
    ]
    for method, response, error in answers:
        retried = await counter.can_retry_async(
            state=RetryState(), request=_request(method), response=response, error=error
        )
        assert retried is False
    errors = metrics.slack_errors
    assert errors.labels("chat.postMessage", "not_in_channel")._value.get() == 1
    assert errors.labels("views.open", "ratelimited")._value.get() == 1
    assert errors.labels("chat.update", "connection_error")._value.get() == 1
    assert b'deploybot_slack_api_errors_total{error="not_in_channel"' in metrics.render()
