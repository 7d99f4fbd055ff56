"""Web pages people see in a browser: the answer to an install deploybot refuses."""

from html import escape
from typing import Final

_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>{text}</p>
</body>
</html>
"""


def install_refused_page(*, team_name: str | None, team_id: str | None) -> str:
    """The page after Slack's consent screen when the workspace may not install deploybot."""
    workspace = escape(team_name or team_id or "this workspace")
    return _PAGE.format(
        title="deploybot cannot be installed here",
        text=(
            f"Whoever runs this deploybot has not allowed <strong>{workspace}</strong> to use it, "
            "so nothing was installed and nothing of your workspace was kept. If your team "
            "should have it, ask them to add your workspace's ID"
            f"{f' (<code>{escape(team_id)}</code>)' if team_id else ''} to "
            "<code>DEPLOYBOT_ALLOWED_TEAMS</code>, then install again."
        ),
    )
