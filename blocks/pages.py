"""Web pages people see in a browser: the setup page, and the answer to a refused install."""

from collections.abc import Sequence
from html import escape
from typing import Final
from urllib.parse import quote

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


_SETUP_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>deploybot: connect it to Slack</title></head>
<body>
<h1>deploybot is running, but not connected to Slack yet</h1>
<p>It answers Slack at <code>{events_url}</code>. To connect it:</p>
<ol>
<li><a href="{create_url}">Create the Slack app from this manifest</a> (it opens Slack's
“Create an app” with every URL already pointing here; pick your workspace), or paste the
manifest below at <a href="https://api.slack.com/apps">api.slack.com/apps</a> →
Create New App → From a manifest.</li>
<li>Install the app to your workspace.</li>
<li>Set these on this server, then restart deploybot:
<ul>
{missing}
</ul></li>
</ol>
<p>Nothing on this page changes anything; deploybot serves Slack once the settings are there.
<code>deploybot check</code> tells what is still missing.</p>
<h2>Manifest</h2>
<pre>{manifest}</pre>
</body>
</html>
"""
SLACK_NEW_APP_URL: Final = "https://api.slack.com/apps?new_app=1&manifest_json="


# Where each setting the setup page asks for comes from.
SETTING_SOURCES: Final = {
    "SLACK_SIGNING_SECRET": "the app's Basic Information → App Credentials → Signing Secret",
    "SLACK_BOT_TOKEN": "the app's OAuth & Permissions → Bot User OAuth Token, once installed",
    "HIVEON_API_KEY": "your Hiveon vendor API key (optional: admins can set one per workspace)",
    "DEPLOYBOT_ENCRYPTION_KEY": (
        "a Fernet key, which encrypts the keys admins store: "
        'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    ),
}


def setup_page(*, manifest_json: str, events_url: str, missing: Sequence[str]) -> str:
    """The page a deploybot without Slack credentials serves on a platform: what is missing, the
    manifest filled in for this host, and a link that creates the Slack app from it."""
    items = "\n".join(
        f"<li><code>{escape(name)}</code>: {escape(SETTING_SOURCES.get(name, ''))}</li>"
        for name in missing
    )
    return _SETUP_PAGE.format(
        events_url=escape(events_url),
        create_url=escape(SLACK_NEW_APP_URL + quote(manifest_json, safe="")),
        missing=items,
        manifest=escape(manifest_json),
    )
