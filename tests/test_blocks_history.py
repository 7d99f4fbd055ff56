"""`/deploy history` and the App Home tab: pure builders, checked against Slack's limits."""

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks import ids
from blocks.history import deployment_line, history_message, home_view
from bot.testing.seed import MACHINE_ID


def line(n: int = 1, **changes: object) -> str:
    """One history line with plausible facts."""
    facts: dict[str, object] = {
        "created_at": 1_764_244_800 + n,
        "user_id": "U111",
        "image": "nginx:latest",
        "machine_id": MACHINE_ID,
        "status": "running",
        "link": "https://slack.com/archives/C1/p1700000000000100",
    }
    facts.update(changes)
    return deployment_line(**facts)  # type: ignore[arg-type]


def test_a_line_says_when_who_what_where_status_and_links_the_thread() -> None:
    """Each line has Slack's date token, the mention, image, short machine, status and link."""
    assert line() == (
        "🟢 <!date^1764244801^{date_short_pretty} {time}|1764244801> · <@U111> · "
        "`nginx:latest` on `24d71100…` · running · "
        "<https://slack.com/archives/C1/p1700000000000100|thread>"
    )


def test_a_line_without_a_thread_has_no_link_and_escapes_user_text() -> None:
    """No message, no link; an image cannot inject Slack markup."""
    text = line(link=None, image="<!channel>", status="failed")
    assert "thread>" not in text
    assert "&lt;!channel&gt;" in text
    assert text.startswith("❌")


def test_history_lists_the_lines_within_slack_limits() -> None:
    """Twenty long lines fit in valid sections of at most 3,000 characters."""
    lines = [line(n, image="registry.example.com/" + "a" * 200) for n in range(20)]
    message = history_message(lines=lines, command="/deploy")
    assert message["text"] == "The workspace's last 20 deployments"
    sections = message["blocks"][1:]
    assert all(len(block["text"]["text"]) <= 3000 for block in sections)
    assert sum(block["text"]["text"].count("\n") + 1 for block in sections) == 20
    for block in message["blocks"]:
        assert Block.parse(block).to_dict() == block  # type: ignore[union-attr]


def test_an_empty_history_says_how_to_start() -> None:
    """With no deployments, the answer names the command that starts one."""
    message = history_message(lines=[], command="/deploy")
    assert message["text"] == "No deployments in this workspace yet. `/deploy` starts one."


def test_the_home_view_has_the_new_deployment_button_and_both_lists() -> None:
    """The Home tab offers New deployment, then the user's and the workspace's deployments."""
    view = home_view(mine=[line(1)], team=[line(1), line(2, user_id="U222")])
    assert view["type"] == "home"
    [button] = view["blocks"][1]["elements"]
    assert button["action_id"] == ids.NEW_DEPLOYMENT
    assert button["text"]["text"] == "New deployment"
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert texts[0] == "*Your recent deployments*"
    assert "<@U111>" in texts[1]
    assert texts[2] == "*Recent deployments in this workspace*"
    assert "<@U222>" in texts[3]
    assert View(**view).to_dict()["blocks"] == view["blocks"]


def test_empty_home_lists_say_so() -> None:
    """An empty list is a short note, not a blank space."""
    view = home_view(mine=[], team=[])
    notes = [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]
    assert notes == ["You have not deployed anything yet.", "Nobody has deployed anything yet."]
