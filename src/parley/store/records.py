"""Plain records the store reads and writes; the domain builds API shapes from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    account_id: str
    region: str
    media_region: str
    created_at: float
    external_meeting_id: str | None = None
    meeting_host_id: str | None = None
    client_request_token: str | None = None
    request_digest: str | None = None
    features: dict[str, Any] | None = None
    notifications: dict[str, Any] | None = None
    primary_meeting_id: str | None = None
    tenant_ids: list[str] | None = None
    network_type: str | None = None
    # Base URL of the node that hosts the meeting's media (--media-url of the node that created it); None:
    # whichever node answers (one node, or nodes without --media-url).
    media_url: str | None = None


@dataclass(frozen=True)
class Attendee:
    attendee_id: str
    meeting_id: str
    external_user_id: str
    join_token: str
    capabilities: dict[str, str]
    created_at: float


@dataclass(frozen=True)
class TranscriptionState:
    meeting_id: str
    status: str  # "started" | "stopped"
    configuration: dict[str, Any]
    region: str
    started_at: float
    updated_at: float
    stopped_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TranscriptRecord:
    """A stored transcript as its owner lists it: it may outlive its meeting (``ended_at`` set)."""

    meeting_id: str
    account_id: str
    external_meeting_id: str | None
    meeting_started_ms: int
    ended_at: float | None  # None while the meeting exists
    expires_at: float | None  # None: kept until deleted
    result_count: int


@dataclass(frozen=True)
class VocabularyRecord:
    """A custom vocabulary (``kind="vocabulary"``), a Transcribe Medical custom vocabulary (``"medical"``) or a
    vocabulary filter (``"filter"``) of one account.

    One record type serves all three: they differ only in what ``entries`` holds (vocabularies: dicts with
    ``phrase``/``display_as``; filter: plain words) and in that filters have no state.
    """

    kind: str
    account_id: str
    name: str
    language_code: str
    entries: list[Any]
    last_modified: float
    state: str = "READY"
    file_uri: str | None = None
