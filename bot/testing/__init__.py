"""Stand-ins for what surrounds the bot, shipped with it as structlog ships `structlog.testing`.

Slack's side of every conversation lives here once: a model of Slack's Web API (served
in-process by the playground, on loopback by `FakeSlack` for the tests and benchmarks), the
signed requests Slack sends an app, a loopback server for any fake peer, and the processes a
test or a benchmark starts. `tests/` and `benchmarks/` import it, and so does the playground;
the bot itself never does (tests/test_architecture.py keeps it so).
"""
