"""The modal's private_metadata: round trip, Slack's size cap, unreadable input."""

from __future__ import annotations

from bot.modal_context import PRIVATE_METADATA_LIMIT, ModalContext


def test_round_trip() -> None:
    """The channel and response_url come back as they went in."""
    context = ModalContext(channel_id="C1", response_url="https://hooks.slack.com/commands/T/1/x")
    assert ModalContext.load(context.dump()) == context


def test_an_oversized_response_url_is_dropped() -> None:
    """private_metadata stays within Slack's 3,000 characters; the channel survives."""
    context = ModalContext(channel_id="C1", response_url="https://h/" + "x" * 4000)
    text = context.dump()
    assert len(text) <= PRIVATE_METADATA_LIMIT
    assert ModalContext.load(text) == ModalContext(channel_id="C1")


def test_unreadable_metadata_means_no_context() -> None:
    """Anything that is not our JSON reads as an empty context rather than an error."""
    assert ModalContext.load("not json") == ModalContext()
    assert ModalContext.load("") == ModalContext()
    assert ModalContext.load(None) == ModalContext()
