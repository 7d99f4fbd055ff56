"""What an operator watches, in Prometheus's text format at `GET /metrics`.

One registry per bot (tests build several in one process):

- `deploybot_deployments_total{outcome}`: starts that ended `started`, `failed` or `unknown`;
- `deploybot_vendor_request_seconds{endpoint,status}`: each HTTP attempt to Hiveon (`start`,
  `status`, `stop`), by the status it answered, or `timeout`/`unreachable`/`error`;
- `deploybot_slack_api_errors_total{method,error}`: Web API calls Slack answered with an error
  (or that failed to connect), counted by a retry handler that never retries;
- `deploybot_follows_active`: deployments being followed now (read from the database);
- `deploybot_ack_seconds{kind}`: how long Slack waited for each HTTP ack, by request kind.
"""

from __future__ import annotations

import hmac

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Hiveon answers in ~0.1–2 s, and is cut at HIVEON_TIMEOUT_S (15 s by default).
_VENDOR_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0)
# Slack's deadline is 3 s; deploybot acks in milliseconds.
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The bot's counters, histograms and gauges, and their rendering."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deployments = Counter(
            "deploybot_deployments_total",
            "Deployment starts by how they ended.",
            ["outcome"],
            registry=self.registry,
        )
        self.vendor_seconds = Histogram(
            "deploybot_vendor_request_seconds",
            "Each HTTP attempt to Hiveon, by endpoint and answer.",
            ["endpoint", "status"],
            buckets=_VENDOR_BUCKETS,
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "deploybot_slack_api_errors_total",
            "Slack Web API calls that failed, by method and error.",
            ["method", "error"],
            registry=self.registry,
        )
        self.follows = Gauge(
            "deploybot_follows_active",
            "Deployments whose status deploybot is following.",
            registry=self.registry,
        )
        self.acks = Histogram(
            "deploybot_ack_seconds",
            "Time from a Slack request's arrival to its ack, by kind.",
            ["kind"],
            buckets=_ACK_BUCKETS,
            registry=self.registry,
        )
        for outcome in ("started", "failed", "unknown"):
            self.deployments.labels(outcome)  # shown at 0 before the first one

    def observe_vendor(self, endpoint: str, status: str, seconds: float) -> None:
        """Record one HTTP attempt to Hiveon (the vendor client's hook)."""
        self.vendor_seconds.labels(endpoint, status).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything."""
        return generate_latest(self.registry)


def authorized(header: str | None, token: str | None) -> bool:
    """True when no token is required, or `Authorization: Bearer <token>` carries it."""
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


class SlackErrorCounter(AsyncRetryHandler):
    """Counts every failed Web API call into `deploybot_slack_api_errors_total`; retries none
    (slack_sdk asks each retry handler about each answer: the ones after it still retry)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count the answer if it is a failure; never ask for a retry."""
        del state
        method = request.url.rstrip("/").rpartition("/")[2] or "unknown"
        if error is not None:
            self._metrics.slack_errors.labels(method, "connection_error").inc()
        elif response is not None:
            body = response.body if isinstance(response.body, dict) else {}
            if response.status_code == 429:  # noqa: PLR2004 — Slack's rate limit
                self._metrics.slack_errors.labels(method, "ratelimited").inc()
            elif body.get("ok") is False:
                self._metrics.slack_errors.labels(method, str(body.get("error"))).inc()
        return False
