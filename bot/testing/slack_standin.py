"""One model of Slack's Web API, response_urls and Socket Mode tickets: a workspace's state.

Everything that plays Slack to the bot answers from here. The playground serves it in-process on
the bot's own port (its page reads `snapshot()` and the `Feed` of changes); the tests and the
benchmarks serve it on loopback through `bot.testing.fake_slack.FakeSlack`, which records each
call and injects faults in front of it. The bot reaches it exactly as it reaches Slack, through
`SLACK_API_URL`, its tokens and the response_urls it is given. It answers in Slack's wire
format and keeps the rules a bot can trip over:

- a trigger_id serves one `views.open`/`views.push`, within 3 seconds;
- a response_url takes 5 posts within 30 minutes;
- a bot with `chat:write.public` posts in public channels without joining; without it, a public
  channel it is not in answers `not_in_channel` until it joins; a private channel it is not in
  answers `channel_not_found` (so the bot's fallbacks show);
- a modal stack holds 3 views, `views.update` honours `hash`, Block Kit limits are checked.

With `made_up_ids`, as tests need, whatever IDs the caller makes up exist: any user, channel,
trigger_id, view or response_url the model never issued is taken as real the first time it is
used, and any `xoxb-` (or app-level `xapp-`) token is the bot's when no `bot_token` is given.

Workflow Builder runs an app's custom step with a token of the run's own (`xwfp-…`), issued
with the run (`issue_workflow_token`, or any `xwfp-` token with made-up IDs): it may call what
the bot token may, and it completes the run (`functions.completeSuccess`/`completeError`),
which `completions` keeps.

Everything runs on one event loop, or under its caller's lock: no locks here.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import itertools
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl

from bot.testing import slack_limits

log = logging.getLogger(__name__)

Json: TypeAlias = dict[str, Any]
Event: TypeAlias = dict[str, Any]

# Where a server of the model takes Web API calls, response_url posts and Socket Mode
# connections.
API_PATH: Final = "/slack-api/"
HOOK_PATH: Final = "/slack-hooks/"
SOCKET_PATH: Final = "/link/"

TRIGGER_TTL_S: Final = 3.0
HOOK_TTL_S: Final = 30 * 60.0
HOOK_USES: Final = 5
VIEW_STACK: Final = 3
# Fields Slack parses as JSON text when they arrive as form fields (or as strings in JSON).
_JSON_FIELDS: Final = frozenset(
    {"attachments", "blocks", "metadata", "outputs", "unfurls", "user_auth_blocks", "view"}
)
# apps.connections.open takes the app-level token; oauth.v2.access the app's client
# credentials alone; every other method the bot token.
_APP_TOKEN_METHODS: Final = frozenset({"apps.connections.open"})
_CLIENT_CREDENTIAL_METHODS: Final = frozenset({"oauth.v2.access"})


@dataclass(frozen=True)
class User:
    """A member of the workspace."""

    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False

    def to_json(self, team_id: str) -> Json:
        """As `users.info` answers."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Etc/UTC",
            "profile": {"display_name": self.name, "real_name": self.real_name},
        }


@dataclass
class Channel:
    """A conversation: a channel, or the direct messages between someone and the bot."""

    id: str
    name: str
    topic: str = ""
    is_private: bool = False
    is_im: bool = False
    bot_is_member: bool = True
    # Whom the bot talks with in a direct conversation (one user ID, or several with commas).
    with_users: str | None = None

    def to_json(self) -> Json:
        """As `conversations.info` answers, plus the topic the page shows."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im,
            "is_private": self.is_private,
            "is_im": self.is_im,
            "is_member": self.bot_is_member,
            "topic": {"value": self.topic},
        }


@dataclass(frozen=True)
class UserGroup:
    """A user group (`@oncall`), for "who may deploy"."""

    id: str
    handle: str
    name: str
    users: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Workspace:
    """Who Slack is to the bot: the team, the app and its bot user, what the bot's token may do,
    and the people, conversations and user groups there at the start."""

    team_id: str
    team_name: str
    team_domain: str
    app_id: str
    bot_id: str
    bot_user_id: str
    bot_name: str
    # auth.test's `url`; permalinks open messages there.
    url: str
    scopes: frozenset[str]
    users: tuple[User, ...] = ()
    channels: tuple[Channel, ...] = ()
    usergroups: tuple[UserGroup, ...] = ()
    # The person at the page, whose modals and Home tab the `Feed` reports.
    you: str | None = None
    # The app's OAuth credentials, for `oauth.v2.access`; None when it installs no other way.
    client_id: str | None = None
    client_secret: str | None = None


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class _Hook:
    """A response_url: where its posts go (nowhere known, for a made-up one), and how often it
    was used."""

    channel: str | None
    user: str | None
    issued_at: float
    message_ts: str | None = None
    ephemeral: bool = False
    uses: int = 0


class SlackError(Exception):
    """A Web API error: `{"ok": false, "error": …}`, with Slack's explanation lines if any."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def to_json(self) -> Json:
        """The answer's body."""
        answer: Json = {"ok": False, "error": self.error}
        if self.messages:
            answer["response_metadata"] = {"messages": self.messages}
        return answer


class Feed:
    """Changes for the page, fanned out to every open event stream."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event | None]] = set()

    def publish(self, event: Event) -> None:
        """Send one change to every subscriber."""
        for queue in self._queues:
            queue.put_nowait(event)

    async def events(
        self,
        first: Callable[[], Event],
        *,
        heartbeat_s: float,
    ) -> AsyncGenerator[Event | None, None]:
        """`first()` (taken once subscribed, so nothing falls between), then each change;
        None after `heartbeat_s` without one; ends when the feed closes."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield first()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), heartbeat_s)
                except TimeoutError:
                    yield None
                    continue
                if event is None:
                    return
                yield event
        finally:
            self._queues.discard(queue)

    def close(self) -> None:
        """End every stream, so a server shutting down is not kept waiting by open pages."""
        for queue in self._queues:
            queue.put_nowait(None)


def read_params(query: Mapping[str, str], content_type: str, body: bytes) -> Json:
    """A Web API call's arguments: the query string merged with a JSON or form body."""
    params: Json = dict(query)
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body or b"{}")
        except ValueError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        params.update(parsed)
    elif body:
        params.update(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    for name in _JSON_FIELDS & params.keys():
        if isinstance(params[name], str):
            try:
                params[name] = json.loads(params[name])
            except ValueError as exc:
                raise SlackError(f"invalid_{name}") from exc
    return params


class SlackStandIn:
    """A workspace's Slack: Web API methods for the bot, state and changes for whoever watches.

    `api_origin` is where the bot reaches the model (response_urls and Socket Mode URLs point
    there). `bot_token` is the bot's token; None takes any made-up one. `timestamps` makes
    message timestamps (by default the wall clock, nudged to stay unique and increasing).
    """

    def __init__(  # noqa: PLR0913 — the workspace, then how it is reached and timed
        self,
        workspace: Workspace,
        *,
        api_origin: str,
        bot_token: str | None = None,
        made_up_ids: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        timestamps: Callable[[], str] | None = None,
    ) -> None:
        self.workspace = workspace
        self._api_origin = api_origin.rstrip("/")
        self._bot_tokens = None if bot_token is None else {bot_token}
        self._made_up_ids = made_up_ids
        self._clock = clock
        self._wall_clock = wall_clock
        self._next_ts = timestamps or self._wall_clock_ts
        self.feed = Feed()
        self.users: dict[str, User] = {user.id: user for user in workspace.users}
        self.user_fields: dict[str, Json] = {}
        """Fields merged over a user's `users.info` answer, by user ID (an admin, an owner…)."""
        self.channels: dict[str, Channel] = {c.id: replace(c) for c in workspace.channels}
        self.usergroups: dict[str, Json] = {
            group.id: {
                "handle": group.handle,
                "name": group.name,
                "description": group.description,
                "users": list(group.users),
            }
            for group in workspace.usergroups
        }
        """User groups by ID: `{"handle": …, "name": …, "description": …, "users": [...]}`."""
        self._direct: dict[str, str] = {
            c.with_users: c.id for c in self.channels.values() if c.with_users
        }
        self._messages: dict[str, list[Json]] = {channel: [] for channel in self.channels}
        self._ephemerals: dict[str, list[Json]] = {channel: [] for channel in self.channels}
        self._stacks: dict[str, list[Json]] = {}
        self._homes: dict[str, Json] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._hooks: dict[str, _Hook] = {}
        self._oauth_codes: dict[str, Json] = {}
        self._socket_tickets: set[str] = set()
        self._revoked_tokens: set[str] = set()
        self._workflow_tokens: set[str] = set()
        self.completions: dict[str, Json] = {}
        """How each workflow step run ended, by function_execution_id: `{"outputs": {...}}`
        or `{"error": "..."}`."""
        self._last_ts = 0.0
        self._view_numbers = itertools.count(1)
        self._hash_numbers = itertools.count(1)
        self._trigger_numbers = itertools.count(1)
        self._methods: dict[str, Callable[[Json], Json]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "functions.completeError": self._functions_complete_error,
            "functions.completeSuccess": self._functions_complete_success,
            "team.info": self._team_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.push": self._views_push,
            "views.update": self._views_update,
        }
        # Methods that also take the app's credentials, besides (or instead of) a token.
        self._methods_with_credentials: dict[str, Callable[..., Json]] = {
            "apps.uninstall": self._apps_uninstall,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # -- the Web API, as the bot calls it ----------------------------------------------------

    def call(self, method: str, params: Json, authorization: str) -> Json:
        """Answer one Web API call; errors are answers too (`{"ok": false}`), as Slack's are."""
        if (refused := self.refusal(method, params, authorization)) is not None:
            return refused
        answer_method = self._methods.get(method)
        if method in self._methods_with_credentials:
            answer_method = functools.partial(
                self._methods_with_credentials[method], authorization=authorization
            )
        if answer_method is None:
            log.warning("the Slack stand-in does not implement %s: unknown_method", method)
            return SlackError("unknown_method").to_json()
        try:
            return answer_method(params)
        except SlackError as exc:
            return exc.to_json()

    def refusal(self, method: str, params: Json, authorization: str) -> Json | None:
        """Slack's answer to a call it refuses before running it (no token, or the wrong
        kind), or None when the call may run."""
        if method in _CLIENT_CREDENTIAL_METHODS:
            return None  # the method checks the app's credentials itself
        token = _token(params, authorization)
        if not token:
            return SlackError("not_authed").to_json()
        if token in self._revoked_tokens:
            return SlackError("token_revoked").to_json()
        kind = self._token_kind(token)
        if kind is None:
            return SlackError("invalid_auth").to_json()
        # A step run's token does what the bot's does, while its run lasts.
        kind = "bot" if kind == "workflow" else kind
        if kind != ("app" if method in _APP_TOKEN_METHODS else "bot"):
            return SlackError("not_allowed_token_type").to_json()
        return None

    def post_to_hook(self, hook_id: str, body: bytes) -> tuple[int, str]:
        """A post to a response_url: the HTTP status and text Slack would answer."""
        hook = self._hooks.get(hook_id)
        if hook is None and self._made_up_ids and hook_id:
            hook = self._hooks[hook_id] = _Hook(None, None, self._clock())
        if hook is None:
            return 404, "no_active_hooks"
        if self._clock() - hook.issued_at > HOOK_TTL_S:
            return 404, "expired_url"
        if hook.uses >= HOOK_USES:
            return 404, "used_url"
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return 400, "invalid_payload"
        hook.uses += 1
        try:
            self._respond(hook, message)
        except SlackError as exc:
            return 400, exc.error
        return 200, "ok"

    def socket_accepts(self, ticket: str) -> bool:
        """Whether a Socket Mode connection with this ticket (from apps.connections.open) may
        open."""
        return ticket in self._socket_tickets

    def socket_hello(self) -> Json:
        """The first message on a Socket Mode connection."""
        return {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "applink-standin", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.workspace.app_id},
        }

    def _respond(self, hook: _Hook, message: Json) -> None:
        if hook.channel is None:
            # A made-up response_url posts nowhere anyone looks; Slack still checks the message.
            _content(message)
            return
        if _truthy(message.get("delete_original")) and hook.message_ts:
            self._delete(hook.channel, hook.message_ts, ephemeral=hook.ephemeral)
            return
        content = _content(message)
        if _truthy(message.get("replace_original")) and hook.message_ts:
            if hook.ephemeral:
                self._replace_ephemeral(hook.channel, hook.message_ts, content)
            else:
                self._update(hook.channel, hook.message_ts, content)
            return
        if message.get("response_type") == "in_channel":
            self._post(hook.channel, content | _thread_of(message))
        else:
            self.show_ephemeral(
                hook.channel,
                content | _thread_of(message),
                sender=self.workspace.bot_user_id,
                reader=hook.user,
            )

    # -- what the page, the tests and the request builders use ------------------------------

    def snapshot(self) -> Event:
        """Everything the page shows, for a page that (re)connects."""
        you = self.workspace.you
        return {
            "type": "snapshot",
            "workspace": self._who_is_who(),
            "messages": copy.deepcopy(self._messages),
            "ephemerals": copy.deepcopy(self._ephemerals),
            "views": copy.deepcopy(self._stacks.get(you, [])) if you else [],
            "home": copy.deepcopy(self._homes.get(you)) if you else None,
        }

    def issue_trigger(self, user: str) -> str:
        """A fresh trigger_id for an interaction by `user`."""
        number = next(self._trigger_numbers)
        trigger_id = f"{number}.{int(self._wall_clock())}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user, self._clock())
        return trigger_id

    def issue_hook(
        self, channel: str, user: str, *, message_ts: str | None = None, ephemeral: bool = False
    ) -> str:
        """A fresh response_url for a command in `channel`, or an action on a message there."""
        hook_id = secrets.token_urlsafe(16)
        self._hooks[hook_id] = _Hook(channel, user, self._clock(), message_ts, ephemeral)
        return f"{self._api_origin}{HOOK_PATH}{hook_id}"

    def issue_workflow_token(self) -> str:
        """A fresh token for one run of a workflow step, as `function_executed` carries it."""
        token = f"xwfp-{secrets.token_hex(16)}"
        self._workflow_tokens.add(token)
        return token

    def add_oauth_code(  # noqa: PLR0913 — the install's fields, all keyword-only
        self,
        code: str,
        *,
        team_id: str,
        bot_token: str,
        installer: str,
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> None:
        """Let `oauth.v2.access` exchange `code` (once) for an install of this workspace or
        org, as if `installer` had just approved it."""
        self._oauth_codes[code] = {
            "access_token": bot_token,
            "scope": "commands,chat:write,users:read",
            "bot_user_id": self.workspace.bot_user_id,
            "authed_user": {"id": installer},
            "team": None if org_wide else {"id": team_id, "name": f"Team {team_id}"},
            "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
            "is_enterprise_install": org_wide,
        }

    def set_membership(self, channel_id: str, *, is_private: bool, bot_is_member: bool) -> None:
        """Make `channel_id` a public or a private channel, with or without the bot in it."""
        channel = self.channels.get(channel_id) or self._new_channel(channel_id)
        channel.is_private, channel.bot_is_member = is_private, bot_is_member

    def channel(self, channel_id: str) -> Channel:
        """A conversation by id; `channel_not_found` if there is none."""
        if channel_id not in self.channels:
            raise SlackError("channel_not_found")
        return self.channels[channel_id]

    def message(self, channel_id: str, ts: str) -> Json | None:
        """A copy of a message (or of an ephemeral message) in a channel."""
        for message in self._messages.get(channel_id, []) + self._ephemerals.get(channel_id, []):
            if message["ts"] == ts:
                return copy.deepcopy(message)
        return None

    def messages(self, channel_id: str) -> list[Json]:
        """Copies of a channel's messages, thread replies included, oldest first."""
        return copy.deepcopy(self._messages.get(channel_id, []))

    def history(self, channel_id: str) -> list[Json]:
        """Copies of the messages a channel shows, oldest first: thread replies only when also
        sent to the channel."""
        return [
            copy.deepcopy(message)
            for message in self._messages.get(channel_id, [])
            if message.get("thread_ts", message["ts"]) == message["ts"]
            or message.get("subtype") == "thread_broadcast"
        ]

    def replies(self, channel_id: str, ts: str) -> list[Json]:
        """Copies of the replies in the thread under message `ts`, oldest first, the parent
        left out."""
        return [
            copy.deepcopy(message)
            for message in self._messages.get(channel_id, [])
            if message.get("thread_ts") == ts and message["ts"] != ts
        ]

    def post_as(
        self, user: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> Json:
        """Something a person typed that is not a command: a plain message in the channel."""
        # Slack stores typed text as mrkdwn with &, < and > escaped.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        thread = {"thread_ts": thread_ts} if thread_ts else {}
        return self._post(channel_id, {"text": escaped} | thread, user=user)

    def post_from_bot(self, channel_id: str, content: Json) -> Json:
        """An answer from the bot that the whole channel sees (a command's `in_channel` ack)."""
        return self._post(channel_id, _content(content))

    def show_ephemeral(
        self, channel_id: str, content: Json, *, sender: str, reader: str | None = None
    ) -> Json:
        """A message only its reader sees in `channel_id` (from the bot, or from Slackbot);
        `reader`, when known, is kept so the page shows it to that person only."""
        message: Json = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": self._next_ts(),
            "user": sender,
            "text": content.get("text", ""),
        }
        if reader is not None:
            message["reader"] = reader
        if sender == self.workspace.bot_user_id:
            message["bot_id"] = self.workspace.bot_id
        message.update({key: content[key] for key in ("blocks", "thread_ts") if key in content})
        self._ephemerals.setdefault(channel_id, []).append(message)
        self.feed.publish({"type": "ephemeral", "channel": channel_id, "message": message})
        return message

    def act_as(self, user_id: str) -> None:
        """Put someone else at the page (a colleague, to approve what you asked for), or you
        again: their modals and Home tab are shown from now on."""
        user = self.users.get(user_id)
        if user is None or user.is_bot:
            raise SlackError("user_not_found")
        self.workspace = replace(self.workspace, you=user_id)
        self.feed.publish(
            {
                "type": "identity",
                "you": user_id,
                "views": self.stack(user_id),
                "home": self.home(user_id),
            }
        )

    def dismiss_ephemeral(self, channel_id: str, ts: str) -> None:
        """Remove an ephemeral message its reader dismissed."""
        self._delete(channel_id, ts, ephemeral=True)

    def stack(self, user: str) -> list[Json]:
        """Copies of the modals open for `user`, root first."""
        return copy.deepcopy(self._stacks.get(user, []))

    def home(self, user: str) -> Json | None:
        """A copy of the Home tab published for `user`."""
        return copy.deepcopy(self._homes.get(user))

    def find_view(self, view_id: str) -> tuple[str, Json] | None:
        """A view shown to someone (a modal in their stack, or their Home tab), and whose it is."""
        for user, stack in self._stacks.items():
            for view in stack:
                if view["id"] == view_id:
                    return user, view
        for user, home in self._homes.items():
            if home["id"] == view_id:
                return user, home
        return None

    def remember_state(self, view_id: str, values: Json) -> Json:
        """Keep what the user typed in a view as its `state`; return a copy of the view."""
        found = self.find_view(view_id)
        if found is None:
            raise SlackError("not_found")
        view = found[1]
        view["state"] = {"values": copy.deepcopy(values)}
        return copy.deepcopy(view)

    def settle_submission(self, view_id: str, ack: Json | None) -> dict[str, str]:
        """Apply a `view_submission` ack as Slack does; returns the field errors to show."""
        user, stack = self._stack_holding(view_id)
        action = (ack or {}).get("response_action")
        if action == "errors":
            errors = (ack or {}).get("errors")
            if not isinstance(errors, dict) or not errors:
                raise SlackError("invalid_errors")
            return {str(block_id): str(message) for block_id, message in errors.items()}
        if action == "update":
            self._replace(user, stack, view_id, _view_of(ack))
        elif action == "push":
            self._push(user, _view_of(ack))
        elif action == "clear":
            stack.clear()
        else:
            # An empty ack (or one Slack does not know) closes the submitted view.
            stack[:] = [view for view in stack if view["id"] != view_id]
        self._publish_views(user)
        return {}

    def close_view(self, view_id: str) -> Json:
        """Someone closed a modal: it leaves the stack (the one under it shows again)."""
        user, stack = self._stack_holding(view_id)
        closed = next(view for view in stack if view["id"] == view_id)
        stack[:] = [view for view in stack if view["id"] != view_id]
        self._publish_views(user)
        return copy.deepcopy(closed)

    # -- Web API methods ---------------------------------------------------------------------

    def _apps_connections_open(self, _params: Json) -> Json:
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        origin = self._api_origin.replace("http", "ws", 1)
        url = f"{origin}{SOCKET_PATH}?ticket={ticket}&app_id={self.workspace.app_id}"
        return {"ok": True, "url": url}

    def _auth_test(self, _params: Json) -> Json:
        return {
            "ok": True,
            "url": self.workspace.url,
            "team": self.workspace.team_name,
            "user": self.workspace.bot_name,
            "team_id": self.workspace.team_id,
            "user_id": self.workspace.bot_user_id,
            "bot_id": self.workspace.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_uninstall(self, params: Json, *, authorization: str) -> Json:
        self._check_credentials(params, authorization)
        # The app leaves the workspace: the token it called with works no more.
        self._revoked_tokens.add(_token(params, authorization))
        return {"ok": True}

    def _oauth_v2_access(self, params: Json, *, authorization: str) -> Json:
        self._check_credentials(params, authorization)
        # Slack's codes work once.
        install = self._oauth_codes.pop(str(params.get("code", "")), None)
        if install is None:
            raise SlackError("invalid_code")
        if self._bot_tokens is not None:
            self._bot_tokens.add(install["access_token"])
        return {"ok": True, "app_id": self.workspace.app_id, "token_type": "bot"} | install

    def _functions_complete_success(self, params: Json) -> Json:
        outputs = params.get("outputs")
        if not isinstance(outputs, dict):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: outputs"])
        return self._complete(params, {"outputs": outputs})

    def _functions_complete_error(self, params: Json) -> Json:
        error = params.get("error")
        if not isinstance(error, str) or not error:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: error"])
        return self._complete(params, {"error": error})

    def _complete(self, params: Json, ending: Json) -> Json:
        """A step run ends; the page hears how."""
        execution = params.get("function_execution_id")
        if not isinstance(execution, str) or not execution:
            raise SlackError(
                "invalid_arguments", ["[ERROR] missing required field: function_execution_id"]
            )
        self.completions[execution] = ending
        self.feed.publish({"type": "workflow", "execution": execution} | ending)
        return {"ok": True}

    def _team_info(self, _params: Json) -> Json:
        team = self.workspace
        return {
            "ok": True,
            "team": {"id": team.team_id, "name": team.team_name, "domain": team.team_domain},
        }

    def _users_info(self, params: Json) -> Json:
        user = self._user(params.get("user"))
        if user is None:
            raise SlackError("user_not_found")
        answer = user.to_json(self.workspace.team_id) | self.user_fields.get(user.id, {})
        return {"ok": True, "user": answer}

    def _usergroups_list(self, _params: Json) -> Json:
        return {"ok": True, "usergroups": self._usergroups_json()}

    def _usergroups_users_list(self, params: Json) -> Json:
        group = self.usergroups.get(str(params.get("usergroup", "")))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": list(group.get("users", []))}

    def _conversations_info(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        return {"ok": True, "channel": channel.to_json()}

    def _conversations_join(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        if channel.is_private or channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        answer: Json = {"ok": True}
        if channel.bot_is_member:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        else:
            channel.bot_is_member = True
            self._post(channel.id, {"text": "joined the channel", "subtype": "channel_join"})
            self.feed.publish({"type": "channel", "channel": channel.to_json()})
        return answer | {"channel": channel.to_json()}

    def _conversations_open(self, params: Json) -> Json:
        if params.get("channel"):
            return {"ok": True, "channel": self._visible_channel(params["channel"]).to_json()}
        users = str(params.get("users", ""))
        if not users:
            raise SlackError("users_list_not_supplied")
        channel = self._direct_with(users)
        if channel is None:
            raise SlackError("user_not_found")
        return {"ok": True, "channel": channel.to_json()}

    def _chat_post_message(self, params: Json) -> Json:
        channel = self._postable_channel(params.get("channel"))
        message = self._post(channel.id, _content(params) | _thread_of(params))
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        if self._user(params.get("user")) is None:
            raise SlackError("user_not_found")
        content = _content(params) | _thread_of(params)
        message = self.show_ephemeral(
            channel.id, content, sender=self.workspace.bot_user_id, reader=str(params["user"])
        )
        return {"ok": True, "message_ts": message["ts"]}

    def _chat_update(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        ts = str(params.get("ts", ""))
        content = _content(params, required=False)
        message = self._update(channel.id, ts, content)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": message,
        }

    def _chat_delete(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        ts = str(params.get("ts", ""))
        self._delete(channel.id, ts, ephemeral=False)
        return {"ok": True, "channel": channel.id, "ts": ts}

    def _chat_get_permalink(self, params: Json) -> Json:
        channel = self._visible_channel(params.get("channel"))
        ts = str(params.get("message_ts", ""))
        if self.message(channel.id, ts) is None:
            raise SlackError("message_not_found")
        return {
            "ok": True,
            "channel": channel.id,
            "permalink": f"{self.workspace.url}#{channel.id}/{ts}",
        }

    def _views_open(self, params: Json) -> Json:
        user = self._use_trigger(params.get("trigger_id"))
        view = self._checked_view(params.get("view"), kind="modal")
        shown = self._shown(view)
        self._stacks[user] = [shown]
        self._publish_views(user)
        return {"ok": True, "view": copy.deepcopy(shown)}

    def _views_push(self, params: Json) -> Json:
        user = self._use_trigger(params.get("trigger_id"))
        view = self._checked_view(params.get("view"), kind="modal")
        shown = self._push(user, view)
        self._publish_views(user)
        return {"ok": True, "view": copy.deepcopy(shown)}

    def _views_update(self, params: Json) -> Json:
        view = self._checked_view(params.get("view"), kind=None)
        view_id = str(params.get("view_id") or self._view_id_of(params.get("external_id")) or "")
        found = self.find_view(view_id)
        if found is None and self._made_up_ids and view_id:
            # A view the caller made up (a test submits modals nobody opened) is taken as shown.
            return {"ok": True, "view": self._shown(view, like={"id": view_id})}
        if found is None:
            raise SlackError("not_found")
        user, current = found
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        if current["type"] == "home":
            self._homes[user] = self._shown(view, like=current)
            self._publish_home(user)
            return {"ok": True, "view": copy.deepcopy(self._homes[user])}
        _, stack = self._stack_holding(current["id"])
        shown = self._replace(user, stack, current["id"], view)
        self._publish_views(user)
        return {"ok": True, "view": copy.deepcopy(shown)}

    def _views_publish(self, params: Json) -> Json:
        user = self._user(params.get("user_id"))
        if user is None:
            raise SlackError("user_not_found")
        view = self._checked_view(params.get("view"), kind="home")
        current = self._homes.get(user.id)
        if current is not None and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._homes[user.id] = self._shown(view, like=current)
        self._publish_home(user.id)
        return {"ok": True, "view": copy.deepcopy(self._homes[user.id])}

    # -- tokens, people and conversations ----------------------------------------------------

    def _check_credentials(self, params: Json, authorization: str) -> None:
        """The app's client ID and secret, as HTTP Basic auth or as fields; else
        `invalid_client_id`."""
        client_id, client_secret = self.workspace.client_id, self.workspace.client_secret
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        as_fields = (params.get("client_id"), params.get("client_secret"))
        if client_id is None or (
            authorization != f"Basic {basic}" and as_fields != (client_id, client_secret)
        ):
            raise SlackError("invalid_client_id")

    def _token_kind(self, token: str) -> str | None:
        """ "bot", "app" (an app-level token), "workflow" (a step run's) or None for a token
        Slack does not know."""
        if token in self._workflow_tokens or (self._made_up_ids and token.startswith("xwfp-")):
            return "workflow"
        if self._bot_tokens is not None:
            return "bot" if token in self._bot_tokens else None
        if token.startswith("xoxb-"):
            return "bot"
        if token.startswith("xapp-"):
            return "app"
        return None

    def _user(self, user_id: object) -> User | None:
        wanted = str(user_id or "")
        if wanted in self.users:
            return self.users[wanted]
        if not (self._made_up_ids and wanted):
            return None
        user = self.users[wanted] = User(wanted, wanted.lower(), f"User {wanted}")
        return user

    def _visible_channel(self, channel_id: object) -> Channel:
        """A conversation the bot may read: any public one, a private one only as a member; a
        user's ID means the bot's direct messages with them."""
        wanted = str(channel_id or "")
        channel = (
            self.channels.get(wanted)
            or (self._direct_with(wanted) if wanted.startswith(("U", "W")) else None)
            or next((c for c in self.channels.values() if f"#{c.name}" == wanted), None)
            or (self._new_channel(wanted) if self._made_up_ids and wanted else None)
        )
        if channel is None or (channel.is_private and not channel.bot_is_member):
            raise SlackError("channel_not_found")
        return channel

    def _postable_channel(self, channel_id: object) -> Channel:
        channel = self._visible_channel(channel_id)
        # chat:write.public lets the bot post in public channels it has not joined.
        if not channel.bot_is_member and "chat:write.public" not in self.workspace.scopes:
            raise SlackError("not_in_channel")
        return channel

    def _direct_with(self, users: str) -> Channel | None:
        """The bot's direct conversation with `users` (one user ID, or several with commas);
        with made-up IDs it opens on first use, else only the workspace's own exist."""
        if users in self._direct:
            return self.channels[self._direct[users]]
        if not (self._made_up_ids and all(self._user(user) for user in users.split(","))):
            return None
        group = "," in users
        channel_id = f"{'G' if group else 'D'}{len(self._direct) + 1:08d}"
        channel = self._new_channel(channel_id)
        channel.is_private, channel.is_im, channel.with_users = group, not group, users
        self._direct[users] = channel_id
        return channel

    def _new_channel(self, channel_id: str) -> Channel:
        channel = self.channels[channel_id] = Channel(channel_id, channel_id.lower())
        self._messages.setdefault(channel_id, [])
        self._ephemerals.setdefault(channel_id, [])
        return channel

    def _who_is_who(self) -> Json:
        """The team, you, the bot, the people, conversations and user groups, for the page."""
        team = self.workspace
        return {
            "team": {"id": team.team_id, "name": team.team_name, "domain": team.team_domain},
            "you": team.you,
            "bot": {
                "user_id": team.bot_user_id,
                "bot_id": team.bot_id,
                "app_id": team.app_id,
                "name": team.bot_name,
            },
            "users": [user.to_json(team.team_id) for user in self.users.values()],
            "channels": [channel.to_json() for channel in self.channels.values()],
            "usergroups": self._usergroups_json(),
        }

    def _usergroups_json(self) -> list[Json]:
        return [
            {
                "id": group_id,
                "team_id": self.workspace.team_id,
                "handle": group.get("handle", group_id.lower()),
                "name": group.get("name", group_id),
                "description": group.get("description", ""),
                "is_usergroup": True,
                "user_count": len(group.get("users", [])),
            }
            for group_id, group in self.usergroups.items()
        ]

    # -- messages ----------------------------------------------------------------------------

    def _wall_clock_ts(self) -> str:
        # Unique and increasing, like Slack's: the wall clock, nudged past the previous one.
        self._last_ts = max(round(self._wall_clock(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _post(self, channel_id: str, content: Json, *, user: str | None = None) -> Json:
        bot = self.workspace
        author = user or bot.bot_user_id
        message: Json = {
            "type": "message",
            "ts": self._next_ts(),
            "user": author,
            "team": bot.team_id,
        }
        if author == bot.bot_user_id:
            message |= {"bot_id": bot.bot_id, "app_id": bot.app_id}
        message |= content
        messages = self._messages.setdefault(channel_id, [])
        parent = None
        if thread_ts := message.get("thread_ts"):
            parent = next((m for m in messages if m["ts"] == thread_ts), None)
            if parent is None:
                raise SlackError("thread_not_found")
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = message["ts"]
            parent["reply_users"] = sorted({*parent.get("reply_users", []), author})
            message["parent_user_id"] = parent["user"]
            if _truthy(message.pop("reply_broadcast", None)):
                message["subtype"] = "thread_broadcast"
        messages.append(message)
        self.feed.publish({"type": "message", "channel": channel_id, "message": message})
        if parent is not None:
            self.feed.publish({"type": "message", "channel": channel_id, "message": parent})
        return copy.deepcopy(message)

    def _update(self, channel_id: str, ts: str, content: Json) -> Json:
        message = next((m for m in self._messages.get(channel_id, []) if m["ts"] == ts), None)
        if message is None:
            raise SlackError("message_not_found")
        bot_user_id = self.workspace.bot_user_id
        if message.get("user") != bot_user_id:
            raise SlackError("cant_update_message")
        # Fields left out keep their value, as on Slack; `"blocks": []` removes the blocks.
        message.update(content)
        message["edited"] = {"user": bot_user_id, "ts": self._next_ts()}
        self.feed.publish({"type": "message", "channel": channel_id, "message": message})
        return copy.deepcopy(message)

    def _replace_ephemeral(self, channel_id: str, ts: str, content: Json) -> None:
        for message in self._ephemerals.get(channel_id, []):
            if message["ts"] == ts:
                message.pop("blocks", None)
                message.update(content)
                self.feed.publish({"type": "ephemeral", "channel": channel_id, "message": message})
                return
        raise SlackError("message_not_found")

    def _delete(self, channel_id: str, ts: str, *, ephemeral: bool) -> None:
        store = self._ephemerals if ephemeral else self._messages
        messages = store.get(channel_id, [])
        if not any(message["ts"] == ts for message in messages):
            raise SlackError("message_not_found")
        store[channel_id] = [message for message in messages if message["ts"] != ts]
        self.feed.publish({"type": "deleted", "channel": channel_id, "ts": ts})

    # -- views -------------------------------------------------------------------------------

    def _use_trigger(self, trigger_id: object) -> str:
        """Whose interaction a trigger_id came from; each serves once, within 3 seconds."""
        wanted = str(trigger_id or "")
        trigger = self._triggers.get(wanted)
        if trigger is None and self._made_up_ids and wanted:
            # A made-up trigger_id stands for a person of its own, every time it is used.
            return wanted
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        trigger.used = True
        if self._clock() - trigger.issued_at > TRIGGER_TTL_S:
            raise SlackError("expired_trigger_id")
        return trigger.user

    def _checked_view(self, view: object, *, kind: str | None) -> Json:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
        if kind is not None and view.get("type") != kind:
            raise SlackError(
                "invalid_arguments", [f"[ERROR] must be `{kind}` [json-pointer:/view/type]"]
            )
        if problems := slack_limits.view_problems(view):
            raise SlackError("invalid_arguments", problems)
        return view

    def _shown(self, view: Json, *, like: Json | None = None) -> Json:
        """The view as Slack returns it: the app's fields plus those Slack fills in."""
        view_id = like["id"] if like else f"V{next(self._view_numbers):09d}"
        defaults: Json = {
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
        }
        team = self.workspace
        filled_in: Json = {
            "id": view_id,
            "team_id": team.team_id,
            "state": {"values": {}},
            "hash": f"{int(self._wall_clock())}.{next(self._hash_numbers):08x}",
            "previous_view_id": like.get("previous_view_id") if like else None,
            "root_view_id": like.get("root_view_id", view_id) if like else view_id,
            "app_id": team.app_id,
            "app_installed_team_id": team.team_id,
            "bot_id": team.bot_id,
        }
        shown = defaults | copy.deepcopy(view) | filled_in
        shown["blocks"] = with_ids(shown["blocks"])
        return shown

    def _push(self, user: str, view: Json) -> Json:
        stack = self._stacks.get(user) or []
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= VIEW_STACK:
            raise SlackError("push_limit_reached")
        shown = self._shown(view)
        shown["previous_view_id"] = stack[-1]["id"]
        shown["root_view_id"] = stack[0]["id"]
        stack.append(shown)
        return shown

    def _replace(self, user: str, stack: list[Json], view_id: str, view: Json) -> Json:
        index = next(i for i, shown in enumerate(stack) if shown["id"] == view_id)
        stack[index] = self._shown(view, like=stack[index])
        self._stacks[user] = stack
        return stack[index]

    def _stack_holding(self, view_id: str) -> tuple[str, list[Json]]:
        for user, stack in self._stacks.items():
            if any(view["id"] == view_id for view in stack):
                return user, stack
        raise SlackError("not_found")

    def _view_id_of(self, external_id: object) -> str | None:
        if not external_id:
            return None
        for stack in [*self._stacks.values(), list(self._homes.values())]:
            for view in stack:
                if view.get("external_id") == external_id:
                    return str(view["id"])
        return None

    def _publish_views(self, user: str) -> None:
        if user == self.workspace.you:
            self.feed.publish({"type": "views", "views": self._stacks.get(user, [])})

    def _publish_home(self, user: str) -> None:
        if user == self.workspace.you:
            self.feed.publish({"type": "home", "view": self._homes[user]})


def _token(params: Json, authorization: str) -> str:
    """The token a call came with: `Authorization: Bearer …`, else its `token` field."""
    return authorization.removeprefix("Bearer ").strip() or str(params.get("token", ""))


def _truthy(value: object) -> bool:
    # JSON bodies carry booleans; form bodies carry "true" or "1".
    return value is True or value in {"1", "true"}


def _thread_of(params: Json) -> Json:
    thread: Json = {}
    if params.get("thread_ts"):
        thread["thread_ts"] = str(params["thread_ts"])
        if _truthy(params.get("reply_broadcast")):
            thread["reply_broadcast"] = True
    return thread


def _content(params: Json, *, required: bool = True) -> Json:
    """The text and blocks of a post or update, checked as Slack checks them."""
    content: Json = {}
    if isinstance(params.get("text"), str):
        content["text"] = params["text"][: slack_limits.MESSAGE_TEXT]
    if params.get("blocks") is not None:
        if problems := slack_limits.message_problems(params["blocks"]):
            raise SlackError("invalid_blocks", problems)
        content["blocks"] = with_ids(params["blocks"])
    if required and not content.get("text") and not content.get("blocks"):
        raise SlackError("no_text")
    return content


def with_ids(blocks: list[Json]) -> list[Json]:
    """Blocks as Slack stores them: every block and interactive element gets an id if it has none.

    Slack makes up short random ids; these are derived from the position, so a message that is
    updated keeps the ids its buttons had.
    """
    named = copy.deepcopy(blocks)
    for index, block in enumerate(named):
        block.setdefault("block_id", f"b{index}")
        for position, element in enumerate(_interactive_elements(block)):
            element.setdefault("action_id", f"{block['block_id']}-{position}")
    return named


def _interactive_elements(block: Json) -> list[Json]:
    elements = [block[key] for key in ("accessory", "element") if isinstance(block.get(key), dict)]
    if block.get("type") == "actions":
        elements += [element for element in block.get("elements", []) if isinstance(element, dict)]
    return [element for element in elements if element.get("type") != "image"]


def _view_of(ack: Json | None) -> Json:
    view = (ack or {}).get("view")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    return view
