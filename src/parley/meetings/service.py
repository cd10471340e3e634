"""The Chime SDK Meetings operations, without HTTP: plain dicts in (modeled input), dicts out.

Errors are raised as ``ServiceError`` by AWS code; the protocol layer turns codes into statuses.
Observers (the live pipeline, later) hear about deletions and transcription changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from parley.config import Limits
from parley.errors import ServiceError, bad_request, not_found
from parley.meetings import capabilities as caps
from parley.meetings import ids
from parley.meetings.configuration import EngineSettings
from parley.meetings.configuration import parse as parse_configuration
from parley.meetings.transcription import (
    check_engines,
    transcribe_failure,
    transcription_region,
)
from parley.store import Attendee, Meeting, Store, TranscriptionState, TranscriptRecord, VocabularyRecord
from parley.store.sql import Conflict, LimitReached
from parley.transcripts.events import TranscriptResult
from parley.transcripts.export import to_jsonl, to_srt, to_webvtt

MEDIA_REGIONS = frozenset(
    {
        "af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3",
        "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1",
    }
)  # fmt: skip
# Documented (not modeled) pattern of ExternalUserId / ExternalMeetingId.
_EXTERNAL_ID = re.compile(r"[-_&@+=,(){}\[\]/«».:|'\"#a-zA-Z0-9À-ÿ\s]*")
MAX_TAGS = 50
DEFAULT_PAGE_SIZE = 100
MAX_TRANSCRIPT_PAGE = 100  # as ListAttendees' MaxResults


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account from the SigV4 identity and the region it signed for."""

    account_id: str
    region: str


class MeetingObserver(Protocol):
    """What the live side hears from the API (on whichever node took the call)."""

    async def meeting_deleted(
        self, meeting: Meeting, transcription: TranscriptionState | None, nodes: frozenset[str]
    ) -> None:
        """``nodes``: those that held the meeting's connections when it was deleted."""

    async def attendee_deleted(self, attendee: Attendee) -> None: ...
    async def capabilities_changed(self, meeting_id: str) -> None: ...
    async def transcription_changed(self, meeting: Meeting, state: TranscriptionState) -> None: ...


def media_placement(base_url: str, meeting_id: str) -> dict[str, str]:
    """URLs that point at this server: the audio socket (/calls) and Chime signaling (/control)."""
    http = base_url.rstrip("/")
    ws = "ws" + http[4:] if http.startswith("http") else http
    host = http.split("://", 1)[-1]
    return {
        "AudioHostUrl": f"{host}/calls/{meeting_id}",
        "AudioFallbackUrl": f"{ws}/calls/{meeting_id}",
        "SignalingUrl": f"{ws}/control/{meeting_id}",
        "TurnControlUrl": f"{http}/v2/turn_sessions",
        "ScreenDataUrl": f"{ws}/v2/screen/{meeting_id}",
        "ScreenViewingUrl": f"{ws}/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id={meeting_id}",
        "ScreenSharingUrl": f"{ws}/v2/screen/{meeting_id}",
    }


def _digest(params: dict[str, Any]) -> str:
    body = {k: v for k, v in params.items() if k != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _check_external_id(value: str, field: str) -> None:
    if value.lower().startswith("aws:"):
        raise bad_request(f"{field} values that begin with aws: are reserved")
    if _EXTERNAL_ID.fullmatch(value) is None:
        raise bad_request(f"{field} contains characters that are not allowed")


def _attendee_limit(features: dict[str, Any] | None) -> int | None:
    return ((features or {}).get("Attendee") or {}).get("MaxCount")


class MeetingService:
    def __init__(
        self,
        store: Store,
        limits: Limits | None = None,
        clock: Any = time.time,
        transcript_retention_s: float | None = None,
        engine_failure: Callable[[EngineSettings], str | None] | None = None,
        media_url: str | None = None,
    ) -> None:
        """``engine_failure`` says why the speech engine cannot honour a (Transcribe-valid) configuration.

        ``media_url`` (this node's ``--media-url``) is stored on the meetings created here, so that every
        attendee's media, from any API node, meets on this one node (docs/operations.md "Several nodes").
        """
        self.media_url = media_url
        self.store = store
        self.limits = limits or Limits()
        self.transcript_retention_s = transcript_retention_s
        self.engine_failure = engine_failure
        self.clock = clock
        self.observers: list[MeetingObserver] = []

    # -- shapes ---------------------------------------------------------------------------------

    def meeting_shape(self, m: Meeting, base_url: str) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "MeetingId": m.meeting_id,
            "MeetingHostId": m.meeting_host_id,
            "ExternalMeetingId": m.external_meeting_id,
            "MediaRegion": m.media_region,
            "MediaPlacement": media_placement(m.media_url or base_url, m.meeting_id),
            "MeetingFeatures": m.features,
            "PrimaryMeetingId": m.primary_meeting_id,
            "TenantIds": m.tenant_ids or [],
            "MeetingArn": ids.meeting_arn(m.region, m.account_id, m.meeting_id),
        }
        return shape

    @staticmethod
    def attendee_shape(a: Attendee, *, with_token: bool) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "ExternalUserId": a.external_user_id,
            "AttendeeId": a.attendee_id,
            "Capabilities": a.capabilities,
        }
        if with_token:
            shape["JoinToken"] = a.join_token
        return shape

    # -- meetings -------------------------------------------------------------------------------

    async def _meeting(self, caller: Caller, meeting_id: str) -> Meeting:
        meeting = await self.store.get_meeting(caller.account_id, meeting_id.lower())
        if meeting is None:
            raise not_found(f"Meeting <{meeting_id}> not found")
        return meeting

    # -- reads for the console (parley's own API, not modeled by AWS) -----------------------------

    async def find_meeting(self, caller: Caller, meeting_id: str) -> Meeting | None:
        """The caller's meeting, or None once it has ended (the console keeps showing ended ones)."""
        return await self.store.get_meeting(caller.account_id, meeting_id.lower())

    async def account_meetings(self, caller: Caller) -> list[Meeting]:
        """Every active meeting of the caller's account, however it was created."""
        return await self.store.list_meetings(caller.account_id)

    async def live_status(
        self, meeting: Meeting, fresh_after: float
    ) -> tuple[TranscriptionState | None, set[str]]:
        """Transcription state and connected attendees of a meeting record the caller already holds (from
        ``account_meetings`` or ``find_meeting``, so no second ownership lookup): the console polls this."""
        state = await self.store.get_transcription(meeting.meeting_id)
        return state, await self.store.connected_attendees(meeting.meeting_id, fresh_after)

    async def transcription_state(self, caller: Caller, meeting_id: str) -> TranscriptionState | None:
        """The meeting's transcription state (None if it was never transcribed); NotFound if not the caller's."""
        meeting = await self._meeting(caller, meeting_id)
        return await self.store.get_transcription(meeting.meeting_id)

    async def connected_attendees(self, caller: Caller, meeting_id: str, fresh_after: float) -> set[str]:
        """Which of the meeting's attendees are connected now, on any node (presence heartbeats after
        ``fresh_after``); NotFound if the meeting is not the caller's."""
        meeting = await self._meeting(caller, meeting_id)
        return await self.store.connected_attendees(meeting.meeting_id, fresh_after)

    async def muted_attendees(self, caller: Caller, meeting_id: str, fresh_after: float) -> set[str]:
        """Which connected attendees have muted themselves in their Chime SDK client, on any node."""
        meeting = await self._meeting(caller, meeting_id)
        return await self.store.muted_attendees(meeting.meeting_id, fresh_after)

    def _check_meeting_request(self, params: dict[str, Any]) -> None:
        if params["MediaRegion"] not in MEDIA_REGIONS:
            raise bad_request(f"MediaRegion {params['MediaRegion']} is not a supported media region")
        for field in ("ExternalMeetingId", "MeetingHostId"):
            if params.get(field) is not None:
                _check_external_id(params[field], field)
        features = params.get("MeetingFeatures") or {}
        video = (features.get("Video") or {}).get("MaxResolution")
        content = (features.get("Content") or {}).get("MaxResolution")
        if (video == "FHD" or content == "UHD") and _attendee_limit(features) is None:
            raise bad_request(
                "MeetingFeatures with Video MaxResolution FHD or Content MaxResolution UHD require "
                "MeetingFeatures Attendee MaxCount"
            )
        self._check_tags(params.get("Tags") or [])

    @staticmethod
    def _check_tags(tags: Sequence[dict[str, str]]) -> None:
        keys = [t["Key"] for t in tags]
        if len(set(keys)) != len(keys):
            raise bad_request("Tag keys must be unique")
        if any(k.lower().startswith("aws:") for k in keys):
            raise bad_request("Tag keys that begin with aws: are reserved")

    def _new_attendee(
        self, meeting_id: str, item: dict[str, Any], features: dict[str, Any] | None
    ) -> Attendee:
        _check_external_id(item["ExternalUserId"], "ExternalUserId")
        capabilities = item.get("Capabilities")
        if capabilities is None:
            capabilities = caps.default_capabilities(features)
        else:
            caps.check_capabilities(capabilities, features)
        attendee_id = ids.new_guid()
        return Attendee(
            attendee_id=attendee_id,
            meeting_id=meeting_id,
            external_user_id=item["ExternalUserId"],
            join_token=ids.new_join_token(attendee_id),
            capabilities=dict(capabilities),
            created_at=self.clock(),
        )

    async def create_meeting(self, caller: Caller, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        result = await self._create_meeting(caller, params, base_url, [])
        return {"Meeting": result["Meeting"]}

    async def create_meeting_with_attendees(
        self, caller: Caller, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        return await self._create_meeting(caller, params, base_url, params["Attendees"])

    async def _create_meeting(
        self, caller: Caller, params: dict[str, Any], base_url: str, items: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        self._check_meeting_request(params)
        token = params.get("ClientRequestToken")
        digest = _digest(params)
        if token:
            existing = await self.store.find_meeting_by_token(caller.account_id, token)
            if existing is not None:
                return await self._replay_create(existing, digest, items, base_url)
        features = params.get("MeetingFeatures")
        if params.get("PrimaryMeetingId"):
            primary = await self.store.get_meeting(caller.account_id, params["PrimaryMeetingId"].lower())
            if primary is None:
                raise bad_request(f"Primary meeting <{params['PrimaryMeetingId']}> not found")
        meeting = Meeting(
            meeting_id=ids.new_guid(),
            account_id=caller.account_id,
            region=caller.region,
            media_region=params["MediaRegion"],
            created_at=self.clock(),
            external_meeting_id=params.get("ExternalMeetingId"),
            meeting_host_id=params.get("MeetingHostId"),
            client_request_token=token,
            request_digest=digest,
            features=features,
            notifications=params.get("NotificationsConfiguration"),
            primary_meeting_id=params.get("PrimaryMeetingId"),
            tenant_ids=params.get("TenantIds"),
            network_type=params.get("MediaPlacementNetworkType"),
            media_url=self.media_url,
        )
        attendees, errors = self._prepare_attendees(meeting.meeting_id, items, features)
        limit = self._max_attendees(meeting)
        if len(attendees) > limit:
            for a in attendees[limit:]:
                errors.append(_attendee_error(a.external_user_id, "ResourceLimitExceeded", _limit_msg(limit)))
            attendees = attendees[:limit]
        tags = [(t["Key"], t["Value"]) for t in params.get("Tags") or []]
        try:
            await self.store.create_meeting(meeting, attendees, tags, self.limits.max_active_meetings)
        except LimitReached as exc:
            raise ServiceError("LimitExceededException", str(exc)) from None
        except Conflict:
            existing = await self.store.find_meeting_by_token(caller.account_id, token or "")
            if existing is None:
                raise
            return await self._replay_create(existing, digest, items, base_url)
        out: dict[str, Any] = {"Meeting": self.meeting_shape(meeting, base_url)}
        if items:
            out["Attendees"] = [self.attendee_shape(a, with_token=True) for a in attendees]
            out["Errors"] = errors
        return out

    def _prepare_attendees(
        self, meeting_id: str, items: Sequence[dict[str, Any]], features: dict[str, Any] | None
    ) -> tuple[list[Attendee], list[dict[str, str]]]:
        attendees: list[Attendee] = []
        errors: list[dict[str, str]] = []
        seen: set[str] = set()
        for item in items:
            try:
                attendee = self._new_attendee(meeting_id, item, features)
            except ServiceError as exc:
                errors.append(_attendee_error(item["ExternalUserId"], "BadRequest", exc.message))
                continue
            key = attendee.external_user_id.lower()
            if key in seen:
                continue  # the same (case-insensitive) external user id is one attendee
            seen.add(key)
            attendees.append(attendee)
        return attendees, errors

    async def _replay_create(
        self, existing: Meeting, digest: str, items: Sequence[dict[str, Any]], base_url: str
    ) -> dict[str, Any]:
        """A repeated ClientRequestToken: the same request gets the same meeting; another is a conflict."""
        if existing.request_digest != digest:
            raise ServiceError(
                "ConflictException",
                "The ClientRequestToken was already used for a different CreateMeeting request",
            )
        out: dict[str, Any] = {"Meeting": self.meeting_shape(existing, base_url)}
        if items:
            result = await self.store.add_attendees(
                existing.meeting_id,
                [self._new_attendee(existing.meeting_id, i, existing.features) for i in items],
                self._max_attendees(existing),
            )
            out["Attendees"] = [
                self.attendee_shape(a, with_token=True) for a in result or [] if isinstance(a, Attendee)
            ]
            out["Errors"] = []
        return out

    async def get_meeting(self, caller: Caller, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {"Meeting": self.meeting_shape(await self._meeting(caller, params["MeetingId"]), base_url)}

    async def delete_meeting(self, caller: Caller, params: dict[str, Any]) -> None:
        meeting = await self._meeting(caller, params["MeetingId"])
        if not await self.end_meeting(meeting):
            raise not_found(f"Meeting <{params['MeetingId']}> not found")

    async def end_meeting(self, meeting: Meeting) -> bool:
        """Delete a meeting (DeleteMeeting or auto-end): attendees, tokens and state go; observers hear it.

        Its transcript stays (for the configured retention, by default until its owner deletes it)."""
        transcription = await self.store.get_transcription(meeting.meeting_id)
        retention = self.transcript_retention_s
        nodes = await self.store.delete_meeting(
            meeting.account_id,
            meeting.meeting_id,
            keep_transcript=retention is None or retention > 0,
            transcript_expires_at=None if retention is None else self.clock() + retention,
        )
        if nodes is None:
            return False
        for observer in self.observers:
            await observer.meeting_deleted(meeting, transcription, nodes)
        return True

    # -- attendees ------------------------------------------------------------------------------

    def _max_attendees(self, meeting: Meeting) -> int:
        return min(_attendee_limit(meeting.features) or self.limits.max_attendees, self.limits.max_attendees)

    async def create_attendee(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._meeting(caller, params["MeetingId"])
        attendee = self._new_attendee(meeting.meeting_id, params, meeting.features)
        result = await self.store.add_attendees(meeting.meeting_id, [attendee], self._max_attendees(meeting))
        if result is None:
            raise not_found(f"Meeting <{params['MeetingId']}> not found")
        (stored,) = result
        if isinstance(stored, LimitReached):
            raise ServiceError("LimitExceededException", str(stored))
        return {"Attendee": self.attendee_shape(stored, with_token=True)}

    async def batch_create_attendee(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._meeting(caller, params["MeetingId"])
        attendees, errors = self._prepare_attendees(meeting.meeting_id, params["Attendees"], meeting.features)
        result = await self.store.add_attendees(meeting.meeting_id, attendees, self._max_attendees(meeting))
        if result is None:
            raise not_found(f"Meeting <{params['MeetingId']}> not found")
        created: list[dict[str, Any]] = []
        for candidate, stored in zip(attendees, result, strict=True):
            if isinstance(stored, LimitReached):
                errors.append(
                    _attendee_error(candidate.external_user_id, "ResourceLimitExceeded", str(stored))
                )
            else:
                created.append(self.attendee_shape(stored, with_token=True))
        return {"Attendees": created, "Errors": errors}

    async def _attendee(self, meeting: Meeting, attendee_id: str) -> Attendee:
        attendee = await self.store.get_attendee(meeting.meeting_id, attendee_id.lower())
        if attendee is None:
            raise not_found(f"Attendee <{attendee_id}> not found")
        return attendee

    async def get_attendee(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._meeting(caller, params["MeetingId"])
        attendee = await self._attendee(meeting, params["AttendeeId"])
        return {"Attendee": self.attendee_shape(attendee, with_token=False)}

    async def list_attendees(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._meeting(caller, params["MeetingId"])
        limit = params.get("MaxResults") or DEFAULT_PAGE_SIZE
        after = _decode_page_token(params.get("NextToken"), meeting.meeting_id)
        page = await self.store.list_attendees(meeting.meeting_id, after, limit + 1)
        out: dict[str, Any] = {"Attendees": [self.attendee_shape(a, with_token=False) for a in page[:limit]]}
        if len(page) > limit:
            last = page[limit - 1]
            out["NextToken"] = _encode_page_token(meeting.meeting_id, last.created_at, last.attendee_id)
        return out

    async def delete_attendee(self, caller: Caller, params: dict[str, Any]) -> None:
        meeting = await self._meeting(caller, params["MeetingId"])
        attendee = await self._attendee(meeting, params["AttendeeId"])
        if not await self.store.delete_attendee(meeting.meeting_id, attendee.attendee_id):
            raise not_found(f"Attendee <{params['AttendeeId']}> not found")
        for observer in self.observers:
            await observer.attendee_deleted(attendee)

    async def update_attendee_capabilities(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._meeting(caller, params["MeetingId"])
        attendee = await self._attendee(meeting, params["AttendeeId"])
        caps.check_capabilities(params["Capabilities"], meeting.features)
        await self.store.update_capabilities(
            meeting.meeting_id, dict(params["Capabilities"]), only=attendee.attendee_id
        )
        for observer in self.observers:
            await observer.capabilities_changed(meeting.meeting_id)
        updated = await self._attendee(meeting, attendee.attendee_id)
        return {"Attendee": self.attendee_shape(updated, with_token=False)}

    async def batch_update_attendee_capabilities_except(self, caller: Caller, params: dict[str, Any]) -> None:
        meeting = await self._meeting(caller, params["MeetingId"])
        caps.check_capabilities(params["Capabilities"], meeting.features)
        excluded = [e["AttendeeId"].lower() for e in params["ExcludedAttendeeIds"]]
        await self.store.update_capabilities(
            meeting.meeting_id, dict(params["Capabilities"]), exclude=excluded
        )

    # -- tags -----------------------------------------------------------------------------------

    async def _tagged_meeting(self, caller: Caller, arn: str) -> Meeting:
        parsed = ids.parse_meeting_arn(arn)
        if parsed is None:
            raise bad_request(f"Invalid resource ARN {arn}: only meeting ARNs can be tagged")
        _region, account, meeting_id = parsed
        meeting = (
            await self.store.get_meeting(caller.account_id, meeting_id)
            if account == caller.account_id
            else None
        )
        if (
            meeting is None
            or ids.meeting_arn(meeting.region, meeting.account_id, meeting.meeting_id) != arn.lower()
        ):
            raise ServiceError("ResourceNotFoundException", f"Resource {arn} not found")
        return meeting

    async def list_tags_for_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._tagged_meeting(caller, params["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in await self.store.list_tags(meeting.meeting_id)]}

    async def tag_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._tagged_meeting(caller, params["ResourceARN"])
        self._check_tags(params["Tags"])
        tags = [(t["Key"], t["Value"]) for t in params["Tags"]]
        if not await self.store.put_tags(meeting.meeting_id, tags, MAX_TAGS):
            raise ServiceError("TooManyTagsException", f"A resource can have at most {MAX_TAGS} tags")
        return {}

    async def untag_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        meeting = await self._tagged_meeting(caller, params["ResourceARN"])
        await self.store.remove_tags(meeting.meeting_id, params["TagKeys"])
        return {}

    # -- transcripts ----------------------------------------------------------------------------

    async def export_transcript(self, account_id: str, meeting_id: str, fmt: str) -> TranscriptDocument:
        """A meeting's stored final results as JSON lines, WebVTT or SRT (also after the meeting ended)."""
        if fmt not in EXPORT_FORMATS:
            raise bad_request(f"format must be one of {', '.join(sorted(EXPORT_FORMATS))}")
        stored = await self.store.transcript(account_id, meeting_id)
        if stored is None:
            meeting = await self.store.get_meeting(account_id, meeting_id)
            if meeting is None:
                raise not_found(f"No transcript of meeting <{meeting_id}>")
            stored = (int(meeting.created_at * 1000), [])
        start_ms, rows = stored
        results = [TranscriptResult.from_dict(r) for r in rows]
        media_type, extension = EXPORT_FORMATS[fmt]
        if extension == "vtt":
            text = to_webvtt(results, start_ms)
        elif extension == "srt":
            text = to_srt(results, start_ms)
        else:
            text = to_jsonl(results)
        return TranscriptDocument(text, media_type, extension)

    async def list_transcripts(
        self, account_id: str, max_results: str | None, next_token: str | None
    ) -> dict[str, Any]:
        """The account's stored transcripts, newest meeting first, paged as the Chime list calls are.

        ``max_results`` and ``next_token`` are the query strings as sent (the signed API and the console pass
        them alike)."""
        if max_results is not None and not max_results.isdigit():
            raise bad_request("max-results must be a whole number")
        limit = DEFAULT_PAGE_SIZE if max_results is None else int(max_results)
        if not 1 <= limit <= MAX_TRANSCRIPT_PAGE:
            raise bad_request(f"max-results must be between 1 and {MAX_TRANSCRIPT_PAGE}")
        scope = f"transcripts:{account_id}"
        position = _decode_page_token(next_token, scope)
        after = None if position is None else (int(position[0]), position[1])
        page = await self.store.list_transcripts(account_id, limit=limit + 1, after=after)
        out: dict[str, Any] = {"Transcripts": [transcript_shape(t) for t in page[:limit]]}
        if len(page) > limit:
            last = page[limit - 1]
            out["NextToken"] = _encode_page_token(scope, last.meeting_started_ms, last.meeting_id)
        return out

    async def delete_transcript(self, account_id: str, meeting_id: str) -> None:
        if not await self.store.delete_transcript(account_id, meeting_id):
            raise not_found(f"No transcript of meeting <{meeting_id}>")

    # -- transcription --------------------------------------------------------------------------

    async def start_meeting_transcription(self, caller: Caller, params: dict[str, Any]) -> None:
        meeting = await self._meeting(caller, params["MeetingId"])
        config: dict[str, Any] = params["TranscriptionConfiguration"]
        check_engines(config)
        settings = parse_configuration(config)  # once; everything below reads the typed value
        current = await self.store.get_transcription(meeting.meeting_id)
        if current is None or current.status != "started":
            active = await self.store.count_active_transcriptions(caller.account_id)
            if active >= self.limits.max_transcriptions:
                raise ServiceError(
                    "LimitExceededException",
                    f"Too many meetings have live transcription enabled (limit {self.limits.max_transcriptions})",
                )
        region, region_failure = transcription_region(settings, meeting.media_region)
        vocabularies, filters = await self._prefetch_vocabularies(caller.account_id, settings)
        failure = region_failure or transcribe_failure(
            settings,
            vocabulary_exists=lambda name: name in vocabularies,
            vocabulary_filter_exists=lambda name: name in filters,
        )
        failure = failure or _vocabulary_language_failure(
            settings, [*vocabularies.values(), *filters.values()]
        )
        if failure is None and self.engine_failure is not None:
            failure = self.engine_failure(settings)
        now = self.clock()
        state = TranscriptionState(
            meeting_id=meeting.meeting_id,
            status="failed" if failure else "started",
            configuration=config,
            region=region or meeting.media_region,
            started_at=current.started_at if current and current.status == "started" else now,
            updated_at=now,
            stopped_at=now if failure else None,
            extra={"message": failure}
            if failure
            else {**_vocabulary_extra(settings, vocabularies, filters), **_pii_extra(settings)},
        )
        await self.store.save_transcription(state)
        for observer in self.observers:
            await observer.transcription_changed(meeting, state)

    async def _prefetch_vocabularies(
        self, account_id: str, e: EngineSettings
    ) -> tuple[dict[str, VocabularyRecord], dict[str, VocabularyRecord]]:
        """The account's vocabularies and filters that the configuration names, read once before the sync rules.

        A medical configuration's ``VocabularyName`` names a Transcribe Medical vocabulary (their own namespace).
        """
        vocabularies = await self.store.get_vocabularies(
            "medical" if e.medical else "vocabulary", account_id, list(e.vocabularies)
        )
        filters = await self.store.get_vocabularies("filter", account_id, list(e.vocabulary_filters))
        return {v.name: v for v in vocabularies}, {f.name: f for f in filters}

    async def stop_meeting_transcription(self, caller: Caller, params: dict[str, Any]) -> None:
        meeting = await self._meeting(caller, params["MeetingId"])
        current = await self.store.get_transcription(meeting.meeting_id)
        if current is None or current.status != "started":
            raise ServiceError(
                "UnprocessableEntityException",
                f"Transcription is not active for meeting <{meeting.meeting_id}>",
            )
        now = self.clock()
        state = TranscriptionState(
            meeting_id=meeting.meeting_id,
            status="stopped",
            configuration=current.configuration,
            region=current.region,
            started_at=current.started_at,
            updated_at=now,
            stopped_at=now,
        )
        await self.store.save_transcription(state)
        for observer in self.observers:
            await observer.transcription_changed(meeting, state)


def _vocabulary_language_failure(e: EngineSettings, records: list[VocabularyRecord]) -> str | None:
    """Transcribe refuses a vocabulary or filter whose language is not the stream's (or, with language
    identification, not one of the language options)."""
    allowed = set(e.languages)
    for record in records:
        if record.language_code not in allowed:
            noun = "vocabulary filter" if record.kind == "filter" else "vocabulary"
            return (
                f"The language code {record.language_code} of the {noun} {record.name} doesn't match the "
                "stream's language. Check the language and try your request again."
            )
    return None


def _vocabulary_extra(
    e: EngineSettings, vocabularies: dict[str, VocabularyRecord], filters: dict[str, VocabularyRecord]
) -> dict[str, Any]:
    """The content the live side applies, snapshotted at Start as Transcribe loads it when a stream starts."""
    from parley.vocabularies.apply import snapshot

    if not vocabularies and not filters:
        return {}
    snap = snapshot(
        list(vocabularies.values()), list(filters.values()), e.vocabulary_filter_method, e.language_code
    )
    return {"vocabularies": snap}


def _pii_extra(e: EngineSettings) -> dict[str, Any]:
    """PII/PHI settings as a snapshot that travels with the state, so every node applies the same ones."""
    from parley.pii.settings import pii_settings

    settings = pii_settings(e)
    return {"pii": settings.to_dict()} if settings is not None else {}


def transcript_shape(t: TranscriptRecord) -> dict[str, Any]:
    """A listed transcript: times as ISO 8601 UTC strings (as the Chime and Transcribe APIs write them)."""
    shape = {
        "MeetingId": t.meeting_id,
        "ExternalMeetingId": t.external_meeting_id,
        "MeetingStartedAt": _iso(t.meeting_started_ms / 1000),
        "MeetingEndedAt": None if t.ended_at is None else _iso(t.ended_at),
        "ExpiresAt": None if t.expires_at is None else _iso(t.expires_at),
        "ResultCount": t.result_count,
    }
    return {k: v for k, v in shape.items() if v is not None}  # AWS omits absent members


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class TranscriptDocument:
    text: str
    media_type: str
    extension: str


# format name → (media type, file extension)
EXPORT_FORMATS = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "json": ("application/x-ndjson", "jsonl"),
    "vtt": ("text/vtt; charset=utf-8", "vtt"),
    "srt": ("application/x-subrip; charset=utf-8", "srt"),
}


def _attendee_error(external_user_id: str, code: str, message: str) -> dict[str, str]:
    return {"ExternalUserId": external_user_id, "ErrorCode": code, "ErrorMessage": message}


def _limit_msg(limit: int) -> str:
    return f"The meeting has reached its limit of {limit} attendees"


def _encode_page_token(scope: str, when: float, key: str) -> str:
    """A keyset position (sort time, id) bound to what is being listed, so a token from another list fails."""
    raw = json.dumps({"m": scope, "t": when, "a": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_token(token: str | None, scope: str) -> tuple[float, str] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["m"] != scope:
            raise ValueError("token for another list")
        return float(data["t"]), str(data["a"])
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise bad_request("Invalid NextToken") from None
