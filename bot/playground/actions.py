"""What you do on the page, done as Slack does it: a signed request to the bot, its ack applied.

`Playground` plays Slack's servers between you and the app: it turns a command typed, a modal
submitted or closed, a button clicked, a select asking for its options, a shortcut chosen, a
workflow run or the Home tab opened into the request Slack would send to the bot's
`POST /slack/events`, over HTTP on loopback, and applies the bot's ack the way Slack's client
shows it (an ephemeral answer, field errors, a closed modal, a select's options).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypedDict

import aiohttp

from bot.playground.workspace import (
    APP_ID,
    BOT_DM,
    BOT_USER_ID,
    SLACKBOT,
    TEAM_DOMAIN,
    TEAM_ID,
    YOU,
)
from bot.testing import slack_requests
from bot.testing.slack_requests import SlackRequest
from bot.testing.slack_standin import Channel, Json, SlackError, SlackStandIn, User

log = logging.getLogger(__name__)

# Slack gives an app 3 seconds to ack, then tells the user it failed.
ACK_TIMEOUT_S: Final = 3.0
# How long a page action waits for a bot that is still starting.
START_TIMEOUT_S: Final = 30.0
# What you may pick in an element, copied into the action Slack sends; the rest comes from the
# element as the bot rendered it, so the page cannot make the bot see a button it never drew.
_SELECTIONS: Final = frozenset(
    {
        "selected_option",
        "selected_options",
        "selected_user",
        "selected_users",
        "selected_conversation",
        "selected_conversations",
        "selected_channel",
        "selected_channels",
        "selected_date",
        "value",
    }
)
_NOT_A_COMMAND: Final = (
    "`{command}` is not a valid command. In Slack, all messages that start with the "
    '"/" character are interpreted as commands. The playground knows `{known}`.'
)


class _Team(TypedDict):
    team_id: str
    team_domain: str
    api_app_id: str
    signing_secret: str


@dataclass(frozen=True)
class SlashCommand:
    """The app's slash command as its manifest declares it."""

    name: str
    description: str = ""
    usage_hint: str = ""


@dataclass(frozen=True)
class AppHome:
    """The app's Home and Messages tabs, as its manifest sets them up."""

    home_tab_enabled: bool = True
    messages_tab_enabled: bool = True
    messages_tab_read_only_enabled: bool = False


@dataclass(frozen=True)
class Shortcut:
    """A shortcut the manifest declares: `global` (the shortcuts menu) or `message`."""

    callback_id: str
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class StepInput:
    """One input of a Workflow Builder step: its name, Slack type, title and whether it is
    required."""

    name: str
    type: str
    title: str
    required: bool = False


@dataclass(frozen=True)
class WorkflowStep:
    """A custom step the manifest declares (`functions`), as Workflow Builder offers it."""

    callback_id: str
    title: str
    inputs: tuple[StepInput, ...] = ()


@dataclass(frozen=True)
class AppConfig:
    """What Slack knows of the app from its manifest: its command, tabs, shortcuts, workflow
    steps and the events it wants.

    Without a manifest (an installed package has none) the playground assumes every surface.
    """

    command: SlashCommand
    app_home: AppHome = AppHome()
    bot_events: frozenset[str] = frozenset({"app_home_opened"})
    shortcuts: tuple[Shortcut, ...] = ()
    steps: tuple[WorkflowStep, ...] = ()

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any] | None, *, command: str) -> AppConfig:
        """Read the manifest; `command` is the name the bot answers to (DEPLOYBOT_COMMAND)."""
        if manifest is None:
            return cls(SlashCommand(command))
        features = manifest.get("features", {})
        spec: Mapping[str, str] = next(
            (c for c in features.get("slash_commands", []) if c.get("command") == command), {}
        )
        home = features.get("app_home", {})
        events = manifest.get("settings", {}).get("event_subscriptions", {}).get("bot_events", [])
        return cls(
            SlashCommand(command, spec.get("description", ""), spec.get("usage_hint", "")),
            AppHome(
                home_tab_enabled=bool(home.get("home_tab_enabled", False)),
                messages_tab_enabled=bool(home.get("messages_tab_enabled", True)),
                messages_tab_read_only_enabled=bool(
                    home.get("messages_tab_read_only_enabled", False)
                ),
            ),
            frozenset(str(event) for event in events),
            tuple(
                Shortcut(
                    str(each.get("callback_id", "")),
                    str(each.get("name", "")),
                    str(each.get("type", "")),
                    str(each.get("description", "")),
                )
                for each in features.get("shortcuts", [])
            ),
            tuple(
                WorkflowStep(
                    str(callback_id),
                    str(function.get("title", callback_id)),
                    tuple(
                        StepInput(
                            str(name),
                            str(spec.get("type", "string")),
                            str(spec.get("title", name)),
                            required=bool(spec.get("is_required", False)),
                        )
                        for name, spec in function.get("input_parameters", {}).items()
                    ),
                )
                for callback_id, function in manifest.get("functions", {}).items()
            ),
        )


@dataclass(frozen=True)
class Delivery:
    """The bot's answer to one request: its body, or why Slack would report a failure."""

    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    error: str | None = None

    def json(self) -> Json | None:
        """The ack's JSON object, if it sent one."""
        if not self.body or not self.content_type.startswith("application/json"):
            return None
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


# Posts a signed request (URL, body, headers) and gives the answer's status, body and content
# type; ConnectionError when it cannot be delivered.
Post = Callable[[str, bytes, Mapping[str, str]], Awaitable[tuple[int, bytes, str]]]


class EventPoster:
    """Posts to the bot's `/slack/events` over HTTP, as Slack does, on one reused session."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __call__(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes, str]:
        """The bot's answer; ConnectionError when it cannot be reached."""
        if self._session is None:  # made here: a session belongs to the running event loop
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as response:
                return response.status, await response.read(), response.content_type
        except aiohttp.ClientError as exc:
            raise ConnectionError(type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Close the session, if one was opened."""
        if self._session is not None:
            await self._session.close()


class Playground:
    """Slack's side of every interaction on the page, for you (the workspace's only human)."""

    def __init__(  # noqa: PLR0913 — its collaborators and one timing, all keyword-only
        self,
        *,
        standin: SlackStandIn,
        signing_secret: str,
        app: AppConfig,
        post: Post,
        events_url: str,
        ack_timeout_s: float = ACK_TIMEOUT_S,
    ) -> None:
        self._standin = standin
        self._signing_secret = signing_secret
        self.app = app
        self._post = post
        self._events_url = events_url
        self._ack_timeout_s = ack_timeout_s
        self._bot_started = asyncio.Event()

    def bot_started(self) -> None:
        """The bot serves: what you do now reaches it (until then, actions wait)."""
        self._bot_started.set()

    @property
    def _you(self) -> User:
        """Whoever is at the page: you, or the colleague you chose to be (`act_as`)."""
        return self._standin.users[self._standin.workspace.you or YOU]

    def act_as(self, user_id: str) -> Json:
        """Be a colleague from now on (approvals need a second person), or yourself again:
        what you type, submit and click is theirs until you switch back."""
        self._standin.act_as(user_id)
        return {"ok": True}

    async def send_message(
        self, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> Json:
        """Something typed in a message box: a slash command goes to the bot, the rest is
        posted as your message."""
        channel = self._standin.channel(channel_id)
        if not text.strip():
            return {"ok": False, "error": "no_text"}
        if channel.is_im and self.app.app_home.messages_tab_read_only_enabled:
            return {"ok": False, "error": "Sending messages to this app has been turned off."}
        if not text.startswith("/"):
            self._standin.post_as(self._you.id, channel.id, text, thread_ts=thread_ts)
            return {"ok": True}
        return await self._run_command(channel, text, thread_ts=thread_ts)

    async def _run_command(self, channel: Channel, typed: str, *, thread_ts: str | None) -> Json:
        """A slash command, as Slack runs it, or Slackbot's word on why it does not."""
        command, _, arguments = typed.partition(" ")
        if thread_ts is not None:
            # Slack runs no app's slash command in a thread.
            refusal = f"`{command}` is not supported in threads. Sorry!"
            self._slackbot_says(channel, refusal, thread_ts=thread_ts)
            return {"ok": False, "error": "not_in_thread"}
        if command != self.app.command.name:
            known = self.app.command.name
            self._slackbot_says(channel, _NOT_A_COMMAND.format(command=command, known=known))
            return {"ok": False, "error": "unknown_command"}
        delivery = await self._deliver(
            slack_requests.slash_command(
                command=command,
                text=arguments.strip(),
                channel_id=channel.id,
                channel_name="directmessage" if channel.is_im else channel.name,
                user_id=self._you.id,
                user_name=self._you.name,
                trigger_id=self._standin.issue_trigger(self._you.id),
                response_url=self._standin.issue_hook(channel.id, self._you.id),
                **self._team(),
            )
        )
        if delivery.error is not None:
            self._slackbot_says(channel, f'`{command}` failed with the error "{delivery.error}"')
            return {"ok": False, "error": delivery.error}
        self._show_command_ack(channel, typed, delivery)
        return {"ok": True}

    async def submit_view(self, view_id: str, values: Json) -> Json:
        """The modal's submit button: `view_submission` with what you typed; its ack applied."""
        owner, _ = self._owned_view(view_id)
        view = self._standin.remember_state(view_id, values)
        delivery = await self._deliver(
            slack_requests.view_submission(
                view=view,
                user_id=owner,
                user_name=self._standin.users[owner].name,
                trigger_id=self._trigger(),
                response_urls=self._response_urls(view, owner),
                **self._team(),
            )
        )
        if delivery.error is not None:
            # Slack's own words in a modal when the app does not answer in time.
            return {"ok": False, "error": "We had some trouble connecting. Try again?"}
        try:
            errors = self._standin.settle_submission(view_id, delivery.json())
        except SlackError as exc:
            log.warning("the bot's view_submission ack was refused: %s", exc.error)
            return {"ok": False, "error": f"The app's answer was refused ({exc.error})."}
        return {"ok": True, "errors": errors}

    async def close_view(self, view_id: str) -> Json:
        """The modal's close button; the bot hears of it only if the view asked to be told."""
        self._owned_view(view_id)
        closed = self._standin.close_view(view_id)
        if closed.get("notify_on_close"):
            await self._deliver(
                slack_requests.view_closed(
                    view=closed, user_id=self._you.id, user_name=self._you.name, **self._team()
                )
            )
        return {"ok": True}

    async def use_element(self, container: Mapping[str, Any], chosen: Mapping[str, Any]) -> Json:
        """A button clicked (after its confirm dialog) or an option picked, in a message or a
        view: `block_actions` built from the element as the bot drew it."""
        trigger_id = self._trigger()
        if container.get("type") == "view":
            view_id = str(container.get("view_id", ""))
            self._owned_view(view_id)
            values = container.get("values")
            view = (
                self._standin.remember_state(view_id, dict(values))
                if isinstance(values, Mapping)
                else self._owned_view(view_id)[1]
            )
            action = _action(view.get("blocks", []), chosen)
            request = slack_requests.view_action(
                action=action,
                view=view,
                user_id=self._you.id,
                user_name=self._you.name,
                trigger_id=trigger_id,
                **self._team(),
            )
        else:
            channel = self._standin.channel(str(container.get("channel", "")))
            ts = str(container.get("ts", ""))
            message = self._standin.message(channel.id, ts)
            if message is None:
                raise SlackError("message_not_found")
            action = _action(message.get("blocks", []), chosen)
            request = slack_requests.block_action(
                action=action,
                channel_id=channel.id,
                channel_name=channel.name,
                message=message,
                user_id=self._you.id,
                user_name=self._you.name,
                trigger_id=trigger_id,
                response_url=self._standin.issue_hook(
                    channel.id,
                    self._you.id,
                    message_ts=ts,
                    ephemeral=message.get("subtype") == "ephemeral",
                ),
                **self._team(),
            )
        delivery = await self._deliver(request)
        if delivery.error is not None:
            return {"ok": False, "error": f"deploybot did not answer ({delivery.error})."}
        return {"ok": True}

    async def suggest(self, view_id: str, block_id: str, action_id: str, value: str) -> Json:
        """An external select in a modal asks for its options as you type: `block_suggestion`,
        answered in the bot's ack."""
        _, view = self._owned_view(view_id)
        delivery = await self._deliver(
            slack_requests.block_suggestion(
                action_id=action_id,
                block_id=block_id,
                value=value,
                view=view,
                user_id=YOU,
                user_name=self._you.name,
                **self._team(),
            )
        )
        answer = delivery.json() or {}
        options = answer.get("options")
        if delivery.error is not None or not isinstance(options, list):
            return {"ok": False, "error": delivery.error or "The app sent no options."}
        return {"ok": True, "options": options}

    async def use_shortcut(self, callback_id: str, message: Mapping[str, Any] | None) -> Json:
        """A shortcut chosen: a global one from the shortcuts menu, a message one on `message`
        (`{"channel", "ts"}`), as Slack sends them."""
        shortcut = next((s for s in self.app.shortcuts if s.callback_id == callback_id), None)
        if shortcut is None:
            return {"ok": False, "error": "The app has no such shortcut."}
        if shortcut.type == "message":
            channel = self._standin.channel(str((message or {}).get("channel", "")))
            ts = str((message or {}).get("ts", ""))
            shown = self._standin.message(channel.id, ts)
            if shown is None:
                raise SlackError("message_not_found")
            request = slack_requests.message_shortcut(
                callback_id=callback_id,
                message=shown,
                channel_id=channel.id,
                channel_name=channel.name,
                user_id=YOU,
                user_name=self._you.name,
                trigger_id=self._trigger(),
                response_url=self._standin.issue_hook(channel.id, YOU),
                **self._team(),
            )
        else:
            request = slack_requests.global_shortcut(
                callback_id=callback_id,
                user_id=YOU,
                user_name=self._you.name,
                trigger_id=self._trigger(),
                **self._team(),
            )
        delivery = await self._deliver(request)
        if delivery.error is not None:
            return {"ok": False, "error": f"deploybot did not answer ({delivery.error})."}
        return {"ok": True}

    async def run_workflow(self, callback_id: str, inputs: Mapping[str, Any]) -> Json:
        """A workflow whose one step is the app's custom step `callback_id`, run with `inputs`:
        `function_executed` with a run token of its own; how it ends arrives on the feed."""
        step = next((s for s in self.app.steps if s.callback_id == callback_id), None)
        if step is None or "function_executed" not in self.app.bot_events:
            return {"ok": False, "error": "The app offers no such workflow step."}
        given = {
            item.name: value
            for item in step.inputs
            if isinstance(value := inputs.get(item.name), str) and value.strip()
        }
        execution = slack_requests.new_execution_id()
        delivery = await self._deliver(
            slack_requests.function_executed(
                callback_id=callback_id,
                inputs=given,
                function_execution_id=execution,
                bot_access_token=self._standin.issue_workflow_token(),
                team_id=TEAM_ID,
                api_app_id=APP_ID,
                bot_user_id=BOT_USER_ID,
                signing_secret=self._signing_secret,
            )
        )
        if delivery.error is not None:
            return {"ok": False, "error": f"deploybot did not answer ({delivery.error})."}
        return {"ok": True, "execution": execution}

    async def open_home(self) -> Json:
        """You opened the app's Home tab: `app_home_opened`, when the app subscribes to it."""
        if self.app.app_home.home_tab_enabled and "app_home_opened" in self.app.bot_events:
            details: Json = {"user": self._you.id, "channel": BOT_DM, "tab": "home"}
            if home := self._standin.home(self._you.id):
                details["view"] = home
            await self._deliver(
                slack_requests.event(
                    "app_home_opened",
                    details=details,
                    team_id=TEAM_ID,
                    api_app_id=APP_ID,
                    bot_user_id=BOT_USER_ID,
                    signing_secret=self._signing_secret,
                )
            )
        return {"ok": True}

    # -- delivery ----------------------------------------------------------------------------

    async def _deliver(self, request: SlackRequest) -> Delivery:
        """POST to the bot's /slack/events as Slack does; Slack's error names on failure."""
        try:
            await asyncio.wait_for(self._bot_started.wait(), START_TIMEOUT_S)
        except TimeoutError:
            return Delivery(error="dispatch_failed")
        try:
            # Slack's deadline covers the whole exchange, whatever the transport does.
            async with asyncio.timeout(self._ack_timeout_s):
                status, body, content_type = await self._post(
                    self._events_url, request.body, request.headers
                )
        except TimeoutError:
            log.warning("the bot did not ack within %.1f s", self._ack_timeout_s)
            return Delivery(error="operation_timeout")
        except ConnectionError as exc:
            log.warning("the bot could not be reached: %s", exc)
            return Delivery(error="dispatch_failed")
        if status != 200:  # noqa: PLR2004 — Slack wants exactly 200
            log.warning("the bot answered HTTP %s", status)
            return Delivery(status=status, error="dispatch_failed")
        return Delivery(status=200, body=body, content_type=content_type)

    def _show_command_ack(self, channel: Channel, typed: str, delivery: Delivery) -> None:
        """A command's ack as Slack shows it: nothing, an ephemeral answer, or a channel post."""
        if not delivery.body.strip():
            return
        answer = delivery.json()
        if answer is None:
            answer = {"text": delivery.body.decode(errors="replace")}
        content: Json = {key: answer[key] for key in ("text", "blocks") if key in answer}
        if answer.get("response_type") == "in_channel":
            # Slack shows the command you typed above an answer everyone sees.
            self._standin.post_as(self._you.id, channel.id, typed)
            self._standin.post_from_bot(channel.id, content)
        else:
            self._standin.show_ephemeral(
                channel.id, content, sender=BOT_USER_ID, reader=self._you.id
            )

    def _slackbot_says(self, channel: Channel, text: str, *, thread_ts: str | None = None) -> None:
        content: Json = {"text": text} | ({"thread_ts": thread_ts} if thread_ts else {})
        self._standin.show_ephemeral(channel.id, content, sender=SLACKBOT, reader=self._you.id)

    def _team(self) -> _Team:
        """Who a request is for: the playground's team and app, signed with its secret."""
        return {
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "api_app_id": APP_ID,
            "signing_secret": self._signing_secret,
        }

    def _trigger(self) -> str:
        return self._standin.issue_trigger(self._you.id)

    def _response_urls(self, view: Json, user: str) -> list[dict[str, str]]:
        """What Slack adds to a submission for each channel select with `response_url_enabled`
        that has a channel picked: a response_url for that channel."""
        values = (view.get("state") or {}).get("values") or {}
        urls = []
        for block in view.get("blocks", []):
            element = block.get("element") or {}
            if block.get("type") != "input" or not element.get("response_url_enabled"):
                continue
            state = (values.get(block.get("block_id")) or {}).get(element.get("action_id")) or {}
            picked = state.get("selected_conversation") or state.get("selected_channel")
            if isinstance(picked, str) and picked in self._standin.channels:
                urls.append(
                    {
                        "block_id": str(block.get("block_id")),
                        "action_id": str(element.get("action_id")),
                        "channel_id": picked,
                        "response_url": self._standin.issue_hook(picked, user),
                    }
                )
        return urls

    def _owned_view(self, view_id: str) -> tuple[str, Json]:
        found = self._standin.find_view(view_id)
        if found is None or found[0] != self._you.id:
            raise SlackError("not_found")
        return found


def _action(blocks: Sequence[Mapping[str, Any]], chosen: Mapping[str, Any]) -> Json:
    """The `actions[0]` Slack sends: the element's own fields plus what you picked."""
    block_id, action_id = chosen.get("block_id"), chosen.get("action_id")
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        for element in _elements(block):
            if element.get("action_id") == action_id:
                action: Json = {
                    "type": element.get("type"),
                    "block_id": block_id,
                    "action_id": action_id,
                }
                for key in ("text", "value", "style", "url"):
                    if key in element:
                        action[key] = copy.deepcopy(element[key])
                if element.get("type") != "button":
                    action.update({k: v for k, v in chosen.items() if k in _SELECTIONS})
                return action
    raise SlackError("invalid_action")


def _elements(block: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [block[key] for key in ("accessory", "element") if isinstance(block.get(key), Mapping)]
    found.extend(e for e in block.get("elements", []) if isinstance(e, Mapping))
    return found
