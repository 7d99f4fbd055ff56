"""The playground in a real browser: Debian's headless Chromium, driven by Playwright.

These start `python -m bot` with no Slack credentials, as `make run` does for a newcomer, open
the printed address and use the page as a person would. No browser is downloaded: Playwright
drives `/usr/bin/chromium` (`.ci/run` installs it). Without it these tests fail, never skip.
"""

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from bot.sandbox import SandboxVendor
from bot.testing.processes import PlaygroundProcess
from bot.testing.seed import MACHINE_ID as MACHINE
from bot.testing.seed import MACHINE_PRICE_ID as PRICE

pytestmark = pytest.mark.e2e  # the playground's process and Chromium

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet: this machine (and CI) has no network for Chromium's own services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The sandbox moves a deployment on after 3 s; the bot polls every 2 s and more.
FOLLOW_TIMEOUT_MS = 25_000
ACTION_TIMEOUT_MS = 10_000
REPLIES = re.compile(r"^\d+ repl(y|ies)$")


expect.set_options(timeout=ACTION_TIMEOUT_MS)


@pytest.fixture(name="playground", scope="module")
def _playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaygroundProcess]:
    with PlaygroundProcess(tmp_path_factory.mktemp("playground")) as playground:
        yield playground


@pytest.fixture(name="browser", scope="module")
def _browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(name="page")
def _page(browser: Browser, playground: PlaygroundProcess) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    served = page.goto(playground.url)
    # The page runs under its Content-Security-Policy: a violation is a console error below.
    assert served is not None
    assert served.headers["content-security-policy"] == "default-src 'self'"
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    yield page
    context.close()
    assert problems == [], f"the page reported errors: {problems}\n{playground.logs}"


def sandbox_deployment_id(external_id: str) -> str:
    """The ID every sandbox gives this external ID (bot/sandbox.py: deterministic IDs)."""
    body = {
        "machine_id": MACHINE,
        "machine_price_id": PRICE,
        "external_deployment_id": external_id,
        "container_config": {"image": "nginx:latest"},
    }
    reply = SandboxVendor().answer(
        "POST",
        "/vendors/v1/machines/deployments/start",
        {"X-API-Key": "k"},
        json.dumps(body).encode(),
    )
    deployment_id: str = json.loads(reply.content)["deployment_id"]
    return deployment_id


def field(modal: Locator, label: str) -> Locator:
    """An input of the modal by its label, which says "(optional)" when it is."""
    return modal.get_by_label(re.compile(rf"^{re.escape(label)}( \(optional\))?$"))


def message_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message", exact=True)


def open_channel(page: Page, name: str) -> None:
    # A channel with news carries a badge: "general 1 new".
    label = re.compile(rf"^{re.escape(name)}( \d+ new)?$")
    page.get_by_role("navigation").get_by_role("button", name=label).click()
    expect(page.locator("#conversation-title")).to_contain_text(name)


def test_a_newcomer_deploys_fixes_a_mistake_and_stops_it(
    page: Page, pytestconfig: pytest.Config
) -> None:
    """`/deploy` opens the modal; the bot's field error shows under Ports; once fixed, the
    channel gets the card, its thread the deployment ID; Stop, confirmed, stops it."""
    open_channel(page, "deploys")
    message_box(page).fill("/deploy")
    message_box(page).press("Enter")

    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    expect(modal).to_be_visible()
    external_id = field(modal, "External deployment ID").input_value()
    assert str(uuid.UUID(external_id)) == external_id
    field(modal, "Machine ID").fill(MACHINE)
    field(modal, "Machine price ID").fill(PRICE)
    field(modal, "Image").fill("nginx:latest")
    ports = field(modal, "Ports")
    ports.fill("80, 70000")
    modal.get_by_role("button", name="Deploy", exact=True).click()

    # The bot's own words, returned in its view_submission ack, under the field.
    expect(ports).to_have_attribute("aria-invalid", "true")
    expect(modal.get_by_role("alert")).to_have_text(re.compile(r"70000.*1–65535"))
    ports.fill("80, 443/https")
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()

    deployment_id = sandbox_deployment_id(external_id)
    card = page.locator("#messages").get_by_role("article").filter(has_text=external_id)
    expect(card).to_contain_text("@you")
    expect(card).to_contain_text("nginx:latest")
    expect(card).to_contain_text("80/tcp, 443/https")
    expect(card).to_contain_text(deployment_id)
    card.get_by_role("button", name=REPLIES).click()
    thread = page.get_by_role("complementary", name="Thread")
    started = thread.get_by_role("article").filter(has_text="Deployment started:").last
    expect(started).to_contain_text(deployment_id)
    expect(started).to_contain_text(external_id)

    expect(card).to_contain_text("is running on machine", timeout=FOLLOW_TIMEOUT_MS)
    if screenshot := pytestconfig.getoption("--playground-screenshot"):
        page.mouse.move(600, 680)  # no hover highlight in the picture
        page.wait_for_timeout(2000)  # nor the highlight of a message that just changed
        page.screenshot(path=screenshot, animations="disabled")

    card.get_by_role("button", name="Stop", exact=True).click()
    confirm = page.get_by_role("alertdialog", name="Stop this deployment?")
    expect(confirm).to_contain_text("nginx:latest")
    confirm.get_by_role("button", name="Stop", exact=True).click()
    expect(confirm).to_be_hidden()
    expect(thread).to_contain_text(f"@you asked Hiveon to stop {deployment_id}")
    expect(card).to_contain_text("stopped on machine", timeout=FOLLOW_TIMEOUT_MS)
    expect(card.get_by_role("button", name="Stop", exact=True)).to_have_count(0)


def test_a_magic_machine_shows_a_vendor_error(page: Page) -> None:
    """A machine ID from the sidebar fills the command; its modal comes prefilled, and the
    thread says what Hiveon's 404 means (shown in the channel too, as every failure is)."""
    open_channel(page, "general")
    page.get_by_role("button", name=re.compile(r"^fail-404 ")).click()
    expect(message_box(page)).to_have_value(re.compile(r"^/deploy .*machine=fail-404"))
    message_box(page).press("Enter")
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    expect(field(modal, "Machine ID")).to_have_value("fail-404")
    external_id = field(modal, "External deployment ID").input_value()
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()

    card = page.locator("#messages").get_by_role("article").filter(has_text="failed on machine")
    card = card.filter(has_text=external_id)
    expect(card).to_contain_text("@you's nginx:latest")
    card.get_by_role("button", name=REPLIES).click()
    reply = page.get_by_role("complementary", name="Thread").get_by_role("article").last
    expect(reply).to_contain_text("Machine fail-404 was not found")
    expect(reply).to_contain_text("HTTP status 404")


def test_app_home_renders_and_its_button_opens_the_modal(page: Page) -> None:
    """The app's Home tab shows what the bot publishes; its button opens the deploy modal."""
    open_channel(page, "deploybot")
    home = page.locator("#home")
    button = home.get_by_role("button", name="New deployment")
    expect(button).to_be_visible()
    button.click()
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    expect(modal).to_be_visible()
    modal.get_by_role("button", name="Cancel", exact=True).click()
    expect(modal).to_be_hidden()


MRKDWN = [
    ("*bold* _italic_ ~gone~", "<strong>bold</strong> <em>italic</em> <s>gone</s>"),
    ("2*3*4 snake_case_name", "2*3*4 snake_case_name"),
    ("`a *b*` &lt;x&gt; &amp;", '<code class="mrkdwn-code">a *b*</code> &lt;x&gt; &amp;'),
    (
        "<@ULOCAL0001> <@U9> <#CLOCALDEP1> <!here>",
        (
            '<span class="mention mention-you">@you</span> <span class="mention">@U9</span> '
            '<button type="button" class="mention mention-channel">#deploys</button> '
            '<span class="mention mention-broadcast">@here</span>'
        ),
    ),
    (
        "<https://example.test/a?b=1&amp;c=2|a link> <javascript:alert(1)|x>",
        (
            '<a href="https://example.test/a?b=1&amp;c=2" target="_blank" '
            'rel="noopener noreferrer">a link</a> x'
        ),
    ),
    ("&gt; quoted\nplain", '<blockquote class="mrkdwn-quote">quoted</blockquote>plain'),
    ("```<b>pre</b>```", '<pre class="mrkdwn-pre">&lt;b&gt;pre&lt;/b&gt;</pre>'),
    ("<img src=x onerror=alert(1)>", "img src=x onerror=alert(1)"),
]


def test_mrkdwn_renders_as_slack_does_and_never_as_markup(page: Page) -> None:
    """The page's mrkdwn renderer: formatting, mentions, safe links only, and any HTML in the
    text shown as text."""
    rendered = page.evaluate(
        """async (cases) => {
          const { mrkdwn } = await import("/playground/static/mrkdwn.js");
          const directory = {
            user: (id) => (id === "ULOCAL0001" ? "you" : id),
            channel: (id) => (id === "CLOCALDEP1" ? "deploys" : id),
            usergroup: (id) => id,
            isYou: (id) => id === "ULOCAL0001",
            openChannel: () => {},
          };
          return cases.map((text) => {
            const box = document.createElement("div");
            box.append(mrkdwn(text, directory));
            return box.innerHTML;
          });
        }""",
        [text for text, _ in MRKDWN],
    )
    assert rendered == [html for _, html in MRKDWN]


def test_what_you_type_is_shown_as_text(page: Page) -> None:
    """A message with HTML in it is posted and shown as the characters typed, never run."""
    open_channel(page, "general")
    typed = '<img src=x onerror="window.pwned = 1"> <b>not bold</b> & *bold*'
    message_box(page).fill(typed)
    message_box(page).press("Enter")
    mine = page.locator("#messages").get_by_role("article", name="Message from you").last
    expect(mine).to_contain_text('<img src=x onerror="window.pwned = 1"> <b>not bold</b> & bold')
    expect(mine.locator("img, b")).to_have_count(0)
    expect(mine.locator("strong")).to_have_text("bold")
    assert page.evaluate("window.pwned") is None


def test_inputs_report_what_you_chose_as_slack_does(page: Page) -> None:
    """Each kind of input gives its value in Slack's `state.values` shape, starting from the
    element's initial value; a block the page cannot draw says so."""
    shown = page.evaluate(
        """async () => {
          const { renderBlocks } = await import("/playground/static/blocks.js");
          const option = (v) => ({ text: { type: "plain_text", text: v.toUpperCase() }, value: v });
          const input = (type, extra) => ({
            type: "input",
            block_id: type,
            label: { type: "plain_text", text: type },
            element: { type, action_id: "a", ...extra },
          });
          const both = [option("x"), option("y")];
          const blocks = [
            input("plain_text_input", { initial_value: "hi" }),
            input("static_select", { options: both, initial_option: option("y") }),
            input("multi_static_select", { options: both, initial_options: [option("x")] }),
            input("checkboxes", { options: [option("x")], initial_options: [option("x")] }),
            input("radio_buttons", { options: both }),
            input("users_select", { initial_user: "ULOCAL0002" }),
            input("datepicker", { initial_date: "2026-01-31" }),
            { type: "video", block_id: "v" },
          ];
          const directory = {
            user: (id) => id,
            channel: (id) => id,
            usergroup: (id) => id,
            isYou: () => false,
            openChannel() {},
            users: () => [{ id: "ULOCAL0002", name: "alice" }],
            channels: () => [],
          };
          const inputs = [];
          const node = renderBlocks(blocks, { directory, inputs, act() {} });
          return {
            values: Object.fromEntries(inputs.map((i) => [i.blockId, i.read()])),
            text: node.textContent,
          };
        }"""
    )

    def option(value: str) -> dict[str, object]:
        return {"text": {"type": "plain_text", "text": value.upper()}, "value": value}

    assert shown["values"] == {
        "plain_text_input": {"type": "plain_text_input", "value": "hi"},
        "static_select": {"type": "static_select", "selected_option": option("y")},
        "multi_static_select": {"type": "multi_static_select", "selected_options": [option("x")]},
        "checkboxes": {"type": "checkboxes", "selected_options": [option("x")]},
        "radio_buttons": {"type": "radio_buttons", "selected_option": None},
        "users_select": {"type": "users_select", "selected_user": "ULOCAL0002"},
        "datepicker": {"type": "datepicker", "selected_date": "2026-01-31"},
    }
    assert "(a video block: the playground does not draw this yet)" in shown["text"]


def test_a_preset_round_trip_save_open_by_name_pick_in_the_form_and_list(page: Page) -> None:
    """A deployment saved "as preset" opens again with `/deploy NAME`; picking it in another
    form's preset select refills that form in place, keeping what was typed where the preset
    has nothing; `/deploy presets` lists it with its buttons."""
    open_channel(page, "deploys")
    message_box(page).fill("/deploy image=redis:7")
    message_box(page).press("Enter")
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    field(modal, "Machine ID").fill(MACHINE)
    field(modal, "Machine price ID").fill(PRICE)
    field(modal, "Save as preset").fill("web-cache")
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()
    saved = page.locator("#messages").get_by_role("article").filter(has_text="📌 You saved")
    expect(saved).to_contain_text("/deploy web-cache opens it again")

    message_box(page).fill("/deploy web-cache")
    message_box(page).press("Enter")
    expect(modal).to_be_visible()
    expect(field(modal, "Image")).to_have_value("redis:7")
    expect(field(modal, "Machine ID")).to_have_value(MACHINE)
    expect(field(modal, "Preset")).to_have_value("web-cache")
    modal.get_by_role("button", name="Cancel", exact=True).click()
    expect(modal).to_be_hidden()

    message_box(page).fill("/deploy image=alpine:3 machine=m-typed")
    message_box(page).press("Enter")
    expect(field(modal, "Image")).to_have_value("alpine:3")
    field(modal, "Metadata").fill("team=payments")
    field(modal, "Preset").select_option("web-cache")
    expect(field(modal, "Image")).to_have_value("redis:7")
    expect(field(modal, "Machine ID")).to_have_value(MACHINE)
    expect(field(modal, "Metadata")).to_have_value("team=payments")
    modal.get_by_role("button", name="Cancel", exact=True).click()

    message_box(page).fill("/deploy presets")
    message_box(page).press("Enter")
    listed = page.locator("#messages").get_by_role("article").filter(has_text="web-cache ·")
    expect(listed).to_contain_text("redis:7")
    expect(listed.get_by_role("button", name="Deploy", exact=True)).to_be_visible()
    expect(listed.get_by_role("button", name="Delete", exact=True)).to_be_visible()


def test_the_shortcuts_open_the_form_and_redeploy_a_card(page: Page) -> None:
    """ "Deploy a container" in the shortcuts menu opens the form asking where; "Redeploy this"
    in a card's More actions opens it filled from that deployment."""
    open_channel(page, "deploys")
    page.get_by_role("button", name="Shortcuts").click()
    page.get_by_role("menuitem", name="Deploy a container").click()
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    expect(modal).to_be_visible()
    expect(field(modal, "Channel")).to_be_visible()
    modal.get_by_role("button", name="Cancel", exact=True).click()
    expect(modal).to_be_hidden()

    message_box(page).fill(f"/deploy busybox:1 machine={MACHINE} price={PRICE}")
    message_box(page).press("Enter")
    external_id = field(modal, "External deployment ID").input_value()
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()
    card = page.locator("#messages").get_by_role("article").filter(has_text=external_id)
    expect(card).to_contain_text("busybox:1")
    card.get_by_role("button", name="More actions").click()
    card.get_by_role("menuitem", name="Redeploy this").click()
    expect(modal).to_be_visible()
    expect(field(modal, "Image")).to_have_value("busybox:1")
    assert field(modal, "External deployment ID").input_value() != external_id
    modal.get_by_role("button", name="Cancel", exact=True).click()


def test_run_workflow_starts_a_deployment_and_shows_the_step_completing(page: Page) -> None:
    """ "Run workflow" runs the custom step with the inputs typed: the card appears in the
    channel picked and the step's completion is shown with its outputs."""
    page.get_by_role("button", name="Run workflow: Start a deployment").click()
    dialog = page.get_by_role("dialog", name="Run workflow: Start a deployment")
    dialog.get_by_label("Image").fill("caddy:2")
    dialog.get_by_label("Machine ID").fill(MACHINE)
    dialog.get_by_label("Machine price ID").fill(PRICE)
    dialog.get_by_label("Channel").select_option(label="#general")
    dialog.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#toast")).to_contain_text(
        re.compile(r"Workflow step completed: deployment_id .*outcome started"),
        timeout=FOLLOW_TIMEOUT_MS,
    )
    open_channel(page, "general")
    card = page.locator("#messages").get_by_role("article").filter(has_text="caddy:2")
    expect(card.first).to_contain_text("started")


def send(page: Page, text: str) -> None:
    """Type a message (or a command) in the open channel and send it."""
    message_box(page).fill(text)
    message_box(page).press("Enter")


def be(page: Page, who: str) -> None:
    """Be someone else at the page (or yourself again)."""
    page.get_by_label("You are").select_option(label=who)
    expect(page.get_by_label("You are")).to_have_value(
        {"You (admin)": "ULOCAL0001", "Alice Example": "ULOCAL0002"}[who]
    )


def test_the_guardrails_show_a_broadcast_failure_an_approval_and_a_freeze(page: Page) -> None:
    """A refused start is shown in the channel itself; with approval required, Alice asks, her
    own Approve is refused, and yours (an admin's) starts it, with when it stops; a freeze
    refuses `/deploy` until it is lifted. Runs last: it leaves approval required."""
    open_channel(page, "deploys")
    send(page, f"/deploy nginx:latest machine=fail-400 price={PRICE}")
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()
    channel_view = page.locator("#messages")
    # The reply in the thread is shown in the channel too, beside the card.
    broadcast = channel_view.get_by_role("article").filter(
        has_text="@you Hiveon rejected the request, nothing was started."
    )
    expect(broadcast).to_have_count(1)

    send(page, "/deploy settings")
    settings = page.get_by_role("dialog", name="Deploy settings")
    settings.get_by_role("checkbox", name=re.compile("A second person approves")).check()
    settings.get_by_role("button", name="Save", exact=True).click()
    expect(settings).to_be_hidden()

    be(page, "Alice Example")
    send(page, f"/deploy nginx:latest machine={MACHINE} price={PRICE} stop=2h")
    modal = page.get_by_role("dialog", name="Deploy to Hiveon")
    expect(field(modal, "Stop after")).to_have_value("2h")
    external_id = field(modal, "External deployment ID").input_value()
    modal.get_by_role("button", name="Deploy", exact=True).click()
    expect(modal).to_be_hidden()
    request = channel_view.get_by_role("article").filter(has_text=external_id)
    expect(request).to_contain_text("@alice asks to deploy")
    expect(request).to_contain_text("2 hours")

    def approve() -> None:
        request.get_by_role("button", name="Approve", exact=True).click()
        confirm = page.get_by_role("alertdialog", name="Approve this deployment?")
        confirm.get_by_role("button", name="Approve and start", exact=True).click()
        expect(confirm).to_be_hidden()

    approve()
    refusal = channel_view.get_by_role("article").filter(has_text="so you cannot approve it")
    expect(refusal).to_contain_text("Only visible to you")
    be(page, "You (admin)")
    expect(refusal).to_have_count(0)  # it was Alice's
    approve()
    expect(request).to_contain_text("Approved by @you", timeout=FOLLOW_TIMEOUT_MS)
    expect(request).to_contain_text("deploybot stops it automatically")
    expect(request.get_by_role("button", name="Approve", exact=True)).to_have_count(0)

    send(page, "/deploy freeze 30m maintenance window")
    announced = channel_view.get_by_role("article").filter(has_text="🧊 @you froze deploys")
    expect(announced).to_contain_text("maintenance window")
    send(page, "/deploy")
    expect(
        channel_view.get_by_role("article").filter(has_text="Deploys are frozen in this workspace")
    ).to_contain_text("Only visible to you")
    send(page, "/deploy unfreeze")
    lifted = channel_view.get_by_role("article").filter(has_text="🌤️ @you lifted the deploy freeze")
    expect(lifted).to_contain_text("deploying works again")
