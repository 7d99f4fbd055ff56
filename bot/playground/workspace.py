"""The playground's workspace: its team, you, two colleagues, the bot, its channels and @oncall."""

from __future__ import annotations

from typing import Final

from bot.testing.slack_standin import Channel, User, UserGroup, Workspace

TEAM_ID: Final = "TLOCAL0001"
TEAM_NAME: Final = "deploybot playground"
TEAM_DOMAIN: Final = "playground"
APP_ID: Final = "ALOCAL0001"
BOT_ID: Final = "BLOCAL0001"
BOT_USER_ID: Final = "ULOCALBOT1"
BOT_NAME: Final = "deploybot"
YOU: Final = "ULOCAL0001"
SLACKBOT: Final = "USLACKBOT"
DEPLOYS: Final = "CLOCALDEP1"
GENERAL: Final = "CLOCALGEN1"
PRIVATE: Final = "CLOCALPRV1"
BOT_DM: Final = "DLOCALBOT1"
ONCALL: Final = "SLOCALONC1"
# What the manifest asks for: chat:write.public lets the bot post in #general without joining.
SCOPES: Final = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:join",
        "im:write",
        "users:read",
        "usergroups:read",
    }
)


def workspace(page_url: str) -> Workspace:
    """The playground's workspace; `page_url` is where you see it (permalinks point there)."""
    return Workspace(
        team_id=TEAM_ID,
        team_name=TEAM_NAME,
        team_domain=TEAM_DOMAIN,
        app_id=APP_ID,
        bot_id=BOT_ID,
        bot_user_id=BOT_USER_ID,
        bot_name=BOT_NAME,
        url=page_url,
        scopes=SCOPES,
        users=(
            User(YOU, "you", "You", is_admin=True, is_owner=True),
            User("ULOCAL0002", "alice", "Alice Example"),
            User("ULOCAL0003", "bob", "Bob Example"),
            User(BOT_USER_ID, BOT_NAME, BOT_NAME, is_bot=True),
        ),
        channels=(
            Channel(DEPLOYS, "deploys", "Where the team deploys."),
            Channel(
                GENERAL,
                "general",
                "A public channel deploybot is not in: it may post anyway (chat:write.public).",
                bot_is_member=False,
            ),
            Channel(
                PRIVATE,
                "incident-room",
                "A private channel deploybot is not in: its messages arrive through the "
                "command's response_url instead.",
                is_private=True,
                bot_is_member=False,
            ),
            Channel(
                BOT_DM, BOT_NAME, "Your direct messages with deploybot.", is_im=True, with_users=YOU
            ),
        ),
        usergroups=(
            UserGroup(
                ONCALL,
                "oncall",
                "on-call engineers",
                (YOU, "ULOCAL0002"),
                description="The on-call engineers of the playground",
            ),
        ),
        you=YOU,
    )
