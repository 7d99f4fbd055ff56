"""A stand-in for Slack's Web API and response_urls: one local workspace that the page shows.

The bot reaches it exactly as it reaches Slack, through `SLACK_API_URL`, its bot token and the
response_urls it is given; the page reads it through `snapshot()` and the `Feed` of changes.
It implements the methods deploybot calls and answers in Slack's wire format, keeping the
Slack rules a bot can trip over:

- a trigger_id serves one `views.open`/`views.push`, within 3 seconds;
- a response_url takes 5 posts within 30 minutes;
- the bot posts in public channels without joining (`chat:write.public`), but a private channel
  it is not in answers `channel_not_found` (so the bot's fallbacks show);
- a modal stack holds 3 views, `views.update` honours `hash`, Block Kit limits are checked.

Everything runs on one event loop: no locks.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import secrets
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl

from bot.playground import limits

log = logging.getLogger(__name__)

Json: TypeAlias = dict[str, Any]
Event: TypeAlias = dict[str, Any]

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

TRIGGER_TTL_S: Final = 3.0
HOOK_TTL_S: Final = 30 * 60.0
HOOK_USES: Final = 5
VIEW_STACK: Final = 3
_JSON_FIELDS: Final = frozenset({"attachments", "blocks", "metadata", "view"})


@dataclass(frozen=True)
class User:
    """A member of the local workspace."""

    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False

    def to_json(self) -> Json:
        """As `users.info` answers."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
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
    """A conversation: a channel, or the direct messages between you and the bot."""

    id: str
    name: str
    topic: str
    is_private: bool = False
    is_im: bool = False
    bot_is_member: bool = True

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

    def to_json(self) -> Json:
        """As `usergroups.list` answers."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "handle": self.handle,
            "name": self.name,
            "description": f"The {self.name} of the playground",
            "user_count": len(self.users),
        }


USER_GROUPS: Final = (UserGroup(ONCALL, "oncall", "on-call engineers", (YOU, "ULOCAL0002")),)


def _directory() -> tuple[dict[str, User], dict[str, Channel]]:
    users = [
        User(YOU, "you", "You", is_admin=True, is_owner=True),
        User("ULOCAL0002", "alice", "Alice Example"),
        User("ULOCAL0003", "bob", "Bob Example"),
        User(BOT_USER_ID, BOT_NAME, BOT_NAME, is_bot=True),
    ]
    channels = [
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
        Channel(BOT_DM, BOT_NAME, "Your direct messages with deploybot.", is_im=True),
    ]
    return {user.id: user for user in users}, {channel.id: channel for channel in channels}


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class _Hook:
    """A response_url: where its posts go, and how often it was used."""

    channel: str
    user: str
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
    """The local workspace's Slack: Web API methods for the bot, state and changes for the page.

    `api_origin` is where the bot reaches this process (response_urls point there); `page_url`
    is what the user opens (permalinks point there).
    """

    def __init__(
        self,
        *,
        bot_token: str,
        api_origin: str,
        page_url: str,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot_token = bot_token
        self._api_origin = api_origin.rstrip("/")
        self._page_url = page_url
        self._clock = clock
        self._wall_clock = wall_clock
        self.users, self.channels = _directory()
        self.feed = Feed()
        self._messages: dict[str, list[Json]] = {channel: [] for channel in self.channels}
        self._ephemerals: dict[str, list[Json]] = {channel: [] for channel in self.channels}
        self._stacks: dict[str, list[Json]] = {}
        self._homes: dict[str, Json] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._hooks: dict[str, _Hook] = {}
        self._last_ts = 0.0
        self._view_numbers = itertools.count(1)
        self._hash_numbers = itertools.count(1)
        self._trigger_numbers = itertools.count(1)
        self._methods: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "team.info": self._team_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.push": self._views_push,
            "views.update": self._views_update,
        }

    # -- the Web API, as the bot calls it ----------------------------------------------------

    def call(self, method: str, params: Json, authorization: str) -> Json:
        """Answer one Web API call; errors are answers too (`{"ok": false}`), as Slack's are."""
        token = authorization.removeprefix("Bearer ").strip() or params.get("token", "")
        if not token:
            return SlackError("not_authed").to_json()
        if not secrets.compare_digest(str(token), self._bot_token):
            return SlackError("invalid_auth").to_json()
        answer_method = self._methods.get(method)
        if answer_method is None:
            log.warning(
                "the playground does not implement Slack's %s; answered unknown_method", method
            )
            return SlackError("unknown_method").to_json()
        try:
            return answer_method(params)
        except SlackError as exc:
            return exc.to_json()

    def post_to_hook(self, hook_id: str, body: bytes) -> tuple[int, str]:
        """A post to a response_url: the HTTP status and text Slack would answer."""
        hook = self._hooks.get(hook_id)
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

    def _respond(self, hook: _Hook, message: Json) -> None:
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
            self._post(hook.channel, content | _thread_of(message), user=BOT_USER_ID)
        else:
            self.show_ephemeral(hook.channel, content | _thread_of(message), sender=BOT_USER_ID)

    # -- what the page and the request builder use ---------------------------------------------

    @property
    def workspace(self) -> Json:
        """Who is who: the team, you, the bot, the people and channels."""
        return {
            "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN},
            "you": YOU,
            "bot": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "name": BOT_NAME},
            "users": [user.to_json() for user in self.users.values()],
            "channels": [channel.to_json() for channel in self.channels.values()],
            "usergroups": [group.to_json() for group in USER_GROUPS],
        }

    def snapshot(self) -> Event:
        """Everything the page shows, for a page that (re)connects."""
        return {
            "type": "snapshot",
            "workspace": self.workspace,
            "messages": copy.deepcopy(self._messages),
            "ephemerals": copy.deepcopy(self._ephemerals),
            "views": copy.deepcopy(self._stacks.get(YOU, [])),
            "home": copy.deepcopy(self._homes.get(YOU)),
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
        return f"{self._api_origin}/slack-hooks/{hook_id}"

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

    def post_as_you(self, channel_id: str, text: str, *, thread_ts: str | None = None) -> Json:
        """Something you typed that is not a command: a plain message in the channel."""
        # Slack stores typed text as mrkdwn with &, < and > escaped.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        thread = {"thread_ts": thread_ts} if thread_ts else {}
        return self._post(channel_id, {"text": escaped} | thread, user=YOU)

    def post_from_bot(self, channel_id: str, content: Json) -> Json:
        """An answer from the bot that the whole channel sees (a command's `in_channel` ack)."""
        return self._post(channel_id, _content(content))

    def show_ephemeral(self, channel_id: str, content: Json, *, sender: str) -> Json:
        """A message only you see in `channel_id` (from the bot, or from Slackbot)."""
        message: Json = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": self._next_ts(),
            "user": sender,
            "text": content.get("text", ""),
        }
        if sender == BOT_USER_ID:
            message["bot_id"] = BOT_ID
        message.update({key: content[key] for key in ("blocks", "thread_ts") if key in content})
        self._ephemerals.setdefault(channel_id, []).append(message)
        self.feed.publish({"type": "ephemeral", "channel": channel_id, "message": message})
        return message

    def dismiss_ephemeral(self, channel_id: str, ts: str) -> None:
        """Remove an ephemeral message you dismissed."""
        self._delete(channel_id, ts, ephemeral=True)

    def stack(self, user: str = YOU) -> list[Json]:
        """Copies of the modals open for `user`, root first."""
        return copy.deepcopy(self._stacks.get(user, []))

    def home(self, user: str = YOU) -> Json | None:
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
        """You closed a modal: it leaves the stack (the one under it shows again)."""
        user, stack = self._stack_holding(view_id)
        closed = next(view for view in stack if view["id"] == view_id)
        stack[:] = [view for view in stack if view["id"] != view_id]
        self._publish_views(user)
        return copy.deepcopy(closed)

    # -- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, _params: Json) -> Json:
        return {
            "ok": True,
            "url": f"{self._page_url}",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _team_info(self, _params: Json) -> Json:
        return {"ok": True, "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN}}

    def _users_info(self, params: Json) -> Json:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": user.to_json()}

    def _usergroups_list(self, _params: Json) -> Json:
        return {"ok": True, "usergroups": [group.to_json() for group in USER_GROUPS]}

    def _usergroups_users_list(self, params: Json) -> Json:
        group = next((g for g in USER_GROUPS if g.id == params.get("usergroup")), None)
        if group is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": list(group.users)}

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
        if users != YOU:
            # Only you and the bot have a direct conversation in the playground.
            raise SlackError("user_not_found")
        return {"ok": True, "channel": self.channels[BOT_DM].to_json()}

    def _chat_post_message(self, params: Json) -> Json:
        channel = self._postable_channel(params.get("channel"))
        message = self._post(channel.id, _content(params) | _thread_of(params))
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, params: Json) -> Json:
        channel = self._postable_channel(params.get("channel"))
        if params.get("user") not in self.users:
            raise SlackError("user_not_found")
        content = _content(params) | _thread_of(params)
        message = self.show_ephemeral(channel.id, content, sender=BOT_USER_ID)
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
            "permalink": f"{self._page_url}#{channel.id}/{ts}",
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
        view_id = params.get("view_id") or self._view_id_of(params.get("external_id"))
        found = self.find_view(str(view_id or ""))
        if found is None:
            raise SlackError("not_found")
        user, current = found
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        if current["type"] == "home":
            self._homes[user] = self._shown(view, like=current)
            self.feed.publish({"type": "home", "view": self._homes[user]})
            return {"ok": True, "view": copy.deepcopy(self._homes[user])}
        _, stack = self._stack_holding(current["id"])
        shown = self._replace(user, stack, current["id"], view)
        self._publish_views(user)
        return {"ok": True, "view": copy.deepcopy(shown)}

    def _views_publish(self, params: Json) -> Json:
        user = str(params.get("user_id", ""))
        if user not in self.users:
            raise SlackError("user_not_found")
        view = self._checked_view(params.get("view"), kind="home")
        current = self._homes.get(user)
        if current is not None and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._homes[user] = self._shown(view, like=current)
        if user == YOU:
            self.feed.publish({"type": "home", "view": self._homes[user]})
        return {"ok": True, "view": copy.deepcopy(self._homes[user])}

    # -- messages ----------------------------------------------------------------------------

    def _next_ts(self) -> str:
        # Unique and increasing, like Slack's: the wall clock, nudged past the previous one.
        self._last_ts = max(round(self._wall_clock(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _post(self, channel_id: str, content: Json, *, user: str = BOT_USER_ID) -> Json:
        message: Json = {"type": "message", "ts": self._next_ts(), "user": user}
        if user == BOT_USER_ID:
            message |= {"bot_id": BOT_ID, "app_id": APP_ID}
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
            parent["reply_users"] = sorted({*parent.get("reply_users", []), user})
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
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        # Fields left out keep their value, as on Slack; `"blocks": []` removes the blocks.
        message.update(content)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
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

    def _visible_channel(self, channel_id: object) -> Channel:
        """A conversation the bot may read: any public one, a private one only as a member."""
        wanted = str(channel_id or "")
        if wanted == YOU:
            return self.channels[BOT_DM]
        channel = self.channels.get(wanted) or next(
            (c for c in self.channels.values() if f"#{c.name}" == wanted), None
        )
        if channel is None or (channel.is_private and not channel.bot_is_member):
            raise SlackError("channel_not_found")
        return channel

    def _postable_channel(self, channel_id: object) -> Channel:
        # chat:write.public lets the bot post in public channels it has not joined.
        return self._visible_channel(channel_id)

    # -- views -------------------------------------------------------------------------------

    def _use_trigger(self, trigger_id: object) -> str:
        trigger = self._triggers.get(str(trigger_id or ""))
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
        if problems := limits.view_problems(view):
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
        filled_in: Json = {
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{int(self._wall_clock())}.{next(self._hash_numbers):08x}",
            "previous_view_id": like.get("previous_view_id") if like else None,
            "root_view_id": like.get("root_view_id", view_id) if like else view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
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
        if user == YOU:
            self.feed.publish({"type": "views", "views": self._stacks.get(user, [])})


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
        content["text"] = params["text"][: limits.MESSAGE_TEXT]
    if params.get("blocks") is not None:
        if problems := limits.message_problems(params["blocks"]):
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
