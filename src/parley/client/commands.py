"""The ``parley`` client commands: the Chime SDK Meetings API through botocore, against parley's own endpoint.

The commands go through botocore's ``chime-sdk-meetings`` client (the engine under ``boto3.client``) with
the ordinary AWS session, so credentials and region come from wherever the AWS SDKs find them (environment,
``AWS_PROFILE``, shared credentials/config files, ``--profile``). That makes the CLI a standing proof that an
unmodified AWS SDK works against parley. botocore is already a server dependency; boto3 adds nothing the
CLI needs.

Output follows the AWS CLI: the response as JSON on stdout, without ``ResponseMetadata``; a failure prints
``parley: <ErrorCode>: <message>`` on stderr and exits 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
DEFAULT_REGION = "us-east-1"
STATE_DIR_NAME = ".parley-cli"


class CliError(Exception):
    """A failure to report as ``code: message`` (an AWS error code, or a local one such as ``FileNotFound``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Api:
    """One resolved AWS session and the meetings client built from it, shared by a command's calls."""

    endpoint_url: str
    region: str
    session: Any  # boto3.Session: credentials for the signed export URL
    client: Any  # chime-sdk-meetings client

    def credentials(self) -> Any:
        creds = self.session.get_credentials()
        if creds is None:
            raise CliError(
                "NoCredentials", "Unable to locate credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
            )
        return creds.get_frozen_credentials()


#: the AWS SDKs' service-specific endpoint variable for this service (AWS_ENDPOINT_URL_ + the service id's
#: words upper-cased and joined by underscores)
SERVICE_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"


def resolve_endpoint(option: str | None, env: Mapping[str, str]) -> str:
    """The endpoint as the AWS CLI resolves it: ``--endpoint-url``, then the service's own variable, then
    ``AWS_ENDPOINT_URL``, then (parley's older name) ``PARLEY_ENDPOINT_URL``, then the local server."""
    for candidate in (
        option,
        env.get(SERVICE_ENDPOINT_VARIABLE),
        env.get("AWS_ENDPOINT_URL"),
        env.get("PARLEY_ENDPOINT_URL"),
    ):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_ENDPOINT


def connect(args: argparse.Namespace) -> Api:
    """Resolve the session the way the AWS SDKs do, then point the client at parley."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    endpoint = resolve_endpoint(args.endpoint_url, os.environ)
    try:
        boto_session = boto3.Session(profile_name=args.profile)
        region = args.region or boto_session.region_name or DEFAULT_REGION
    except ProfileNotFound as exc:
        raise CliError("ProfileNotFound", str(exc)) from exc
    client = boto_session.client(
        "chime-sdk-meetings",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"total_max_attempts": 2}, connect_timeout=10, read_timeout=60),
    )
    return Api(endpoint, region, boto_session, client)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn every expected failure into a ``CliError`` (the entry point prints it and exits 1)."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CliError(str(error.get("Code") or "Error"), str(error.get("Message") or exc)) from exc
    except ParamValidationError as exc:
        raise CliError("ParamValidation", str(exc).replace("\n", " ")) from exc
    except BotoCoreError as exc:
        raise CliError(type(exc).__name__.removesuffix("Error") or "Error", str(exc)) from exc


def print_json(data: Any, out: Any = None) -> None:
    body = {k: v for k, v in data.items() if k != "ResponseMetadata"} if isinstance(data, dict) else data
    (out or sys.stdout).write(json.dumps(body, indent=4, default=str, ensure_ascii=False) + "\n")


# -- meeting list state ------------------------------------------------------------------------------------


@dataclass
class MeetingBook:
    """The meetings this CLI created, per endpoint and access key, in ``~/.parley-cli/meetings.json``.

    The Chime API has no ListMeetings, and parley adds none (it would be an API Chime does not have), so
    ``meeting list`` lists what this CLI remembers and checks each with GetMeeting, forgetting those that
    ended. Keyed by access key too, because meetings belong to an account: another identity's GetMeeting
    would say NotFound and wrongly drop them.
    """

    path: Path

    @classmethod
    def default(cls) -> MeetingBook:
        return cls(Path.home() / STATE_DIR_NAME / "meetings.json")

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, list[str]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".meetings-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    @staticmethod
    def key(endpoint: str, access_key: str) -> str:
        # The access key id is not a secret, but there is no need to keep it in clear either.
        return f"{endpoint} {hashlib.sha256(access_key.encode()).hexdigest()[:16]}"

    def ids(self, key: str) -> list[str]:
        return list(self._load().get(key, []))

    def update(self, key: str, change: Callable[[list[str]], list[str]]) -> None:
        data = self._load()
        ids = change(list(data.get(key, [])))
        if ids:
            data[key] = ids
        else:
            data.pop(key, None)
        with contextlib.suppress(OSError):  # forgetting is best effort; the API call already succeeded
            self._save(data)


def _book_key(api: Api) -> str:
    return MeetingBook.key(api.endpoint_url, api.credentials().access_key)


# -- meetings ---------------------------------------------------------------------------------------------


def meeting_create(api: Api, args: argparse.Namespace) -> int:
    import uuid

    token = str(uuid.uuid4())
    params: dict[str, Any] = {
        "ClientRequestToken": token,
        "MediaRegion": args.media_region,
        # Required by the model; a recognizable default rather than forcing a name on every call.
        "ExternalMeetingId": args.external_id or f"parley-cli-{token[:8]}",
    }
    if args.max_attendees is not None:
        params["MeetingFeatures"] = {"Attendee": {"MaxCount": args.max_attendees}}
    response = api.client.create_meeting(**params)
    meeting_id = response["Meeting"]["MeetingId"]
    MeetingBook.default().update(_book_key(api), lambda ids: [*ids, meeting_id])
    print_json(response)
    return 0


def meeting_get(api: Api, args: argparse.Namespace) -> int:
    print_json(api.client.get_meeting(MeetingId=args.meeting_id))
    return 0


def meeting_delete(api: Api, args: argparse.Namespace) -> int:
    api.client.delete_meeting(MeetingId=args.meeting_id)
    MeetingBook.default().update(_book_key(api), lambda ids: [i for i in ids if i != args.meeting_id.lower()])
    return 0


def meeting_list(api: Api, args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    book, key = MeetingBook.default(), _book_key(api)
    meetings, gone = [], set()
    for meeting_id in book.ids(key):
        try:
            meetings.append(api.client.get_meeting(MeetingId=meeting_id)["Meeting"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NotFound", "NotFoundException"):
                raise
            gone.add(meeting_id)
    if gone:
        book.update(key, lambda ids: [i for i in ids if i not in gone])
    print_json({"Meetings": meetings})
    return 0


# -- attendees --------------------------------------------------------------------------------------------

CAPABILITY_KEYS = ("Audio", "Video", "Content")


def parse_capabilities(text: str) -> dict[str, str]:
    """``Audio=Receive,Video=None`` → all three keys (the model requires them); unnamed ones stay
    ``SendReceive``, Chime's default."""
    caps = dict.fromkeys(CAPABILITY_KEYS, "SendReceive")
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().capitalize()
        if not sep or name not in CAPABILITY_KEYS:
            raise CliError("BadCapabilities", f"expected Audio=…,Video=…,Content=…, got {part!r}")
        caps[name] = value.strip()
    return caps


def attendee_create(api: Api, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"MeetingId": args.meeting_id, "ExternalUserId": args.external_user_id}
    if args.capabilities:
        params["Capabilities"] = parse_capabilities(args.capabilities)
    print_json(api.client.create_attendee(**params))
    return 0


def attendee_list(api: Api, args: argparse.Namespace) -> int:
    # botocore ships no paginator for chime-sdk-meetings, so follow NextToken by hand.
    attendees: list[dict[str, Any]] = []
    params: dict[str, Any] = {"MeetingId": args.meeting_id}
    while True:
        page = api.client.list_attendees(**params)
        attendees.extend(page.get("Attendees", []))
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    print_json({"Attendees": attendees})
    return 0


def attendee_delete(api: Api, args: argparse.Namespace) -> int:
    api.client.delete_attendee(MeetingId=args.meeting_id, AttendeeId=args.attendee_id)
    return 0


# -- transcription ----------------------------------------------------------------------------------------


def engine_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The options, mapped one to one onto ``EngineTranscribeSettings``; the server judges combinations."""
    settings: dict[str, Any] = {}
    if args.language:
        settings["LanguageCode"] = args.language
    if args.identify_language:
        settings["IdentifyLanguage"] = True
    if args.language_options:
        settings["LanguageOptions"] = args.language_options
    if args.preferred_language:
        settings["PreferredLanguage"] = args.preferred_language
    if args.stabilization:
        settings["EnablePartialResultsStabilization"] = True
        settings["PartialResultsStability"] = args.stabilization
    if args.transcribe_region:
        settings["Region"] = args.transcribe_region
    if args.pii_identification:
        settings["ContentIdentificationType"] = "PII"
    if args.pii_redaction:
        settings["ContentRedactionType"] = "PII"
    if args.pii_entity_types:
        settings["PiiEntityTypes"] = args.pii_entity_types
    if args.vocabulary:
        settings["VocabularyName"] = args.vocabulary
    if args.vocabulary_filter:
        settings["VocabularyFilterName"] = args.vocabulary_filter
    if args.filter_method:
        settings["VocabularyFilterMethod"] = args.filter_method
    return settings


def transcription_start(api: Api, args: argparse.Namespace) -> int:
    api.client.start_meeting_transcription(
        MeetingId=args.meeting_id,
        TranscriptionConfiguration={"EngineTranscribeSettings": engine_settings(args)},
    )
    return 0


def transcription_stop(api: Api, args: argparse.Namespace) -> int:
    api.client.stop_meeting_transcription(MeetingId=args.meeting_id)
    return 0


# -- transcript export ------------------------------------------------------------------------------------

WIRE_FORMATS = {"vtt": "vtt", "srt": "srt", "json": "jsonl"}


def signed_request(api: Api, method: str, path: str, query: dict[str, str] | None = None) -> bytes:
    """A call to parley's own HTTP additions, signed with SigV4 (service ``chime``) as the API calls are."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"{api.endpoint_url}{path}" + (f"?{urlencode(query)}" if query else "")
    request = AWSRequest(method=method, url=url)
    SigV4Auth(api.credentials(), "chime", api.region).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method=method)
    try:
        with urllib.request.urlopen(http, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        code = (exc.headers.get("x-amzn-ErrorType") or "").split(":")[0]
        try:
            message = json.loads(body).get("Message") or json.loads(body).get("message")
        except ValueError:
            message = None
        raise CliError(code or f"HTTP{exc.code}", message or exc.reason or "request failed") from exc
    except urllib.error.URLError as exc:
        raise CliError(
            "EndpointConnection", f"Could not connect to {api.endpoint_url}: {exc.reason}"
        ) from exc


def transcript_get(api: Api, args: argparse.Namespace) -> int:
    path = f"/meetings/{args.meeting_id}/transcript"
    body = signed_request(api, "GET", path, {"format": WIRE_FORMATS[args.format]})
    if args.output and str(args.output) != "-":
        try:
            Path(args.output).write_bytes(body)
        except OSError as exc:
            raise CliError("WriteFailed", f"{args.output}: {exc.strerror or exc}") from exc
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def transcript_list(api: Api, args: argparse.Namespace) -> int:
    """Every page, as the AWS CLI does for list calls: one ``Transcripts`` array."""
    listed: list[Any] = []
    query: dict[str, str] = {}
    while True:
        page = json.loads(signed_request(api, "GET", "/transcripts", query))
        listed += page.get("Transcripts", [])
        if not page.get("NextToken"):
            break
        query = {"next-token": page["NextToken"]}
    print_json({"Transcripts": listed})
    return 0


def transcript_delete(api: Api, args: argparse.Namespace) -> int:
    signed_request(api, "DELETE", f"/meetings/{args.meeting_id}/transcript")
    return 0


def join(api: Api, args: argparse.Namespace) -> int:
    from parley.client.join import run_join

    return run_join(api, args)


HANDLERS: dict[str, Callable[[Api, argparse.Namespace], int]] = {
    "meeting create": meeting_create,
    "meeting get": meeting_get,
    "meeting delete": meeting_delete,
    "meeting list": meeting_list,
    "attendee create": attendee_create,
    "attendee list": attendee_list,
    "attendee delete": attendee_delete,
    "transcription start": transcription_start,
    "transcription stop": transcription_stop,
    "transcript list": transcript_list,
    "transcript get": transcript_get,
    "transcript delete": transcript_delete,
    "join": join,
}


#: what to try next, for the failures a person can fix themselves
HINTS = {
    "EndpointConnection": "is the server running? Start it with `parley serve`, or point --endpoint-url "
    "(or AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS / AWS_ENDPOINT_URL) at it.",
    "NoCredentials": "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; `parley serve` prints "
    "local credentials when it creates its credentials file.",
    "ProfileNotFound": "check the profile name in ~/.aws/config and ~/.aws/credentials (or drop --profile).",
    "UnrecognizedClientException": "this access key is not in the server's credentials file "
    "(<data dir>/credentials).",
    "InvalidSignatureException": "the secret key does not match the access key in the server's credentials file.",
    "NotFoundException": "check the id and the account; meetings end 5 minutes after the last attendee leaves, "
    "and `parley transcript list` shows the transcripts of ended meetings.",
    "UnreadableAudio": "give a file FFmpeg can decode (WAV, FLAC, MP3, Ogg/Opus, WebM, M4A).",
    "FileNotFound": "check the path.",
}


def run(command: str, args: argparse.Namespace) -> int:
    """Run one client command; every expected failure becomes ``parley: Code: message`` and exit 1."""
    handler = HANDLERS[command]
    try:
        with reported_errors():
            return handler(connect(args), args)
    except CliError as exc:
        sys.stdout.flush()
        print(f"parley: {exc.code}: {exc.message}", file=sys.stderr)
        if exc.code in HINTS:
            print(f"parley: hint: {HINTS[exc.code]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("parley: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `parley … | head`: the reader left; nothing more to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps interpreter shutdown from re-raising
        return 1
