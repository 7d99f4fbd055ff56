"""What the deploy modal carries in `private_metadata`: where it was opened, never a secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

PRIVATE_METADATA_LIMIT = 3000  # Slack's cap on private_metadata


class ModalContext(BaseModel):
    """The channel the modal was opened from and the command's response_url, for fallbacks;
    the preset that filled the deploy form, and how many times one refilled it; the external
    ID deploybot made for the form (`minted_id`: a fresh UUID, so a submission that keeps it
    cannot name a deployment the workspace already has, and its ack skips that look-up)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    channel_id: str | None = None
    response_url: str | None = None
    preset: str | None = None
    revision: int = 0
    minted_id: str | None = None

    def dump(self) -> str:
        """Serialise for `private_metadata`; a response_url that would overflow it is dropped."""
        text = self.model_dump_json(exclude_defaults=True)
        if len(text) > PRIVATE_METADATA_LIMIT:
            shorter = self.model_copy(update={"response_url": None})
            text = shorter.model_dump_json(exclude_defaults=True)
        return text

    @classmethod
    def load(cls, text: str | None) -> ModalContext:
        """Read it back; anything unreadable means "no context" (the user's DM is the fallback)."""
        if not text:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return cls()
