"""``parley`` command line: ``parley serve`` runs the server; the other commands are its client.

The client commands speak the Chime SDK Meetings API through the AWS SDK, so credentials and region come from
the usual AWS environment variables, profiles and files; ``--endpoint-url`` (or, as for the AWS CLI,
``AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS`` / ``AWS_ENDPOINT_URL``) says which parley server to talk to.

Exit codes: 0 success; 1 the call failed (the AWS error code and message on stderr); 2 a usage error;
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from parley.config import Limits, LiveSettings, Settings, SpeechSettings
from parley.credentials import CredentialsError, CredentialStore, usage_text
from parley.envconfig import environment_defaults
from parley.logs import configure as configure_logging
from parley.signaling.turn import DEFAULT_TTL_S, TurnSettings, parse_uris
from parley.throttle import AWS_BURST, AWS_RATE


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _serve_options(sub.add_parser("serve", help="run the parley server"), os.environ)


def _serve_options(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """The options of ``serve``; each also reads a ``PARLEY_*`` variable from ``env`` (parley.envconfig)."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--data-dir", type=Path, default=Path(".parley"), help="where state lives (default ./.parley)"
    )
    p.add_argument("--credentials", type=Path, help="AWS shared-credentials INI with account_id per identity")
    p.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: SQLite)")
    p.add_argument(
        "--public-url", help="base URL clients use to reach this server (default: the request's Host)"
    )
    p.add_argument(
        "--media-url",
        help="base URL put into the MediaPlacement (SDK signaling, audio sockets) of meetings created here; in a "
        "cluster, the load balancer's: any node takes any meeting's sockets (default: the URL the API call came in on)",
    )
    p.add_argument(
        "--node-url",
        help="base URL the other nodes of a cluster reach this node at; they forward Chime SDK signaling for "
        "meetings whose room this node hosts to it (default: http://HOST:PORT)",
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=["NORMAL", "FULL"],
        default="NORMAL",
        help="NORMAL survives kill -9; FULL also survives power loss (slower writes)",
    )
    p.add_argument("--max-active-meetings", type=int, default=250, help="active meetings per account")
    p.add_argument(
        "--max-attendees", type=int, default=250, help="attendees per meeting (MaxCount can lower it)"
    )
    p.add_argument("--max-transcriptions", type=int, default=250, help="transcribing meetings per account")
    p.add_argument("--redis-url", help="Redis URL for the event bus shared by several parley processes")
    p.add_argument(
        "--model", type=Path, help="a local CTranslate2 Whisper model directory (default: bundled base)"
    )
    p.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where the speech model runs"
    )
    p.add_argument(
        "--lazy-model", action="store_true", help="load the speech model on first use, not at start"
    )
    p.add_argument(
        "--speech-workers",
        type=int,
        default=0,
        help="concurrent speech decodes (default 0: one single-threaded worker per core, up to 4; one on a GPU)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        help="end a meeting with no attendee connected this long (s)",
    )
    p.add_argument(
        "--max-duration", type=float, default=86400.0, help="end a meeting this long after creation (s)"
    )
    p.add_argument("--reap-interval", type=float, default=15.0, help="how often auto-end is checked (s)")
    p.add_argument(
        "--transcript-retention",
        type=float,
        default=None,
        metavar="SECONDS",
        help="delete a transcript this long after its meeting ends; 0: with the meeting "
        "(default: keep it until its owner deletes it)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection whose request headers have not arrived within this time (default 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="answer 400 when a request body has not arrived within this time (default 30)",
    )
    p.add_argument(
        "--max-connections-per-address",
        type=int,
        default=64,
        metavar="N",
        help="open connections one client address may hold; more are refused (default 64)",
    )
    p.add_argument(
        "--trusted-address",
        action="append",
        default=None,
        type=_network,
        metavar="CIDR",
        help="an address or network (e.g. 10.0.0.0/24) whose connections the per-address limits do not count: "
        "the load balancer in front of parley and the other nodes; repeatable (the variable takes a "
        "comma-separated list)",
    )
    p.add_argument(
        "--new-connections-per-second",
        type=float,
        default=50.0,
        metavar="N",
        help="new connections one client address may open per second, bursts of 4N (default 50)",
    )
    p.add_argument(
        "--max-audio-speed",
        type=float,
        default=2.0,
        metavar="X",
        help="an audio socket sending faster than X times real time (beyond --audio-burst) is closed (default 2)",
    )
    p.add_argument(
        "--audio-burst",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how far ahead of real time an attendee's audio may get before --max-audio-speed applies (default 30)",
    )
    p.add_argument(
        "--max-video-sources",
        type=int,
        default=25,
        metavar="N",
        help="video sources (cameras) forwarded per meeting; beyond it INDEX says at_capacity (default: 25)",
    )
    p.add_argument(
        "--video-subscription-limit",
        type=int,
        default=0,
        metavar="N",
        help="remote videos each Chime SDK client may subscribe to, sent in JOIN_ACK (default: 0, the SDK's own 25)",
    )
    p.add_argument(
        "--media-address",
        help="the only ICE host address offered to Chime SDK (WebRTC) clients, e.g. 127.0.0.1 "
        "(default: every non-loopback address)",
    )
    turn = p.add_argument_group(
        "TURN relay (coturn use-auth-secret)",
        "With --turn-uri, JOIN_ACK hands each Chime SDK client time-limited credentials and the client "
        "connects through the relay only; without it, clients use host candidates (see --media-address).",
    )
    turn.add_argument(
        "--turn-uri",
        action="append",
        default=None,
        metavar="URI",
        help="a TURN URI for clients, repeatable, e.g. turn:turn.example.com:3478?transport=udp "
        "(the variable takes a comma-separated list)",
    )
    secret = turn.add_mutually_exclusive_group()
    secret.add_argument(
        "--turn-secret",
        help="coturn's static-auth-secret (prefer the variable or a file: a flag shows in ps)",
    )
    secret.add_argument("--turn-secret-file", type=Path, help="read the static-auth-secret from this file")
    turn.add_argument(
        "--turn-ttl",
        type=int,
        default=DEFAULT_TTL_S,
        help=f"lifetime of issued TURN credentials in seconds (default {DEFAULT_TTL_S})",
    )
    throttling = p.add_argument_group(
        "API throttling",
        "Per account and operation, as AWS does: beyond the rate the API answers ThrottlingException (429), "
        "which every AWS SDK retries with backoff. Shared by all nodes through --redis-url.",
    )
    throttling.add_argument(
        "--api-rate",
        type=float,
        default=AWS_RATE,
        metavar="N",
        help=f"requests per second per account and operation; 0 turns throttling off (default {AWS_RATE:g}, AWS's)",
    )
    throttling.add_argument(
        "--api-burst",
        type=float,
        default=AWS_BURST,
        metavar="N",
        help=f"requests a caller may send at once before the rate applies (default {AWS_BURST:g}, AWS's)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one JSON object per line, with request, account, meeting and attendee ids",
    )
    environment_defaults(
        p, env, aliases={"turn_uri": "PARLEY_TURN_URIS", "trusted_address": "PARLEY_TRUSTED_ADDRESSES"}
    )


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an address or network: {text!r}") from exc


def _turn_settings(args: argparse.Namespace) -> TurnSettings:
    """The TURN settings of the parsed options (their ``PARLEY_TURN_*`` variables were applied by the parser).

    Raises TurnConfigError/ValueError (or OSError for an unreadable secret file); ``serve`` reports it and exits.
    """
    uris = parse_uris(args.turn_uri or [])
    if args.turn_secret_file is not None:
        secret: str | None = args.turn_secret_file.read_text().strip()
    else:
        secret = args.turn_secret or None
    return TurnSettings(uris=uris, secret=secret, ttl_s=args.turn_ttl).validate()


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        credentials_file=args.credentials,
        database_url=args.database_url,
        public_url=args.public_url,
        media_url=args.media_url,
        node_url=args.node_url,
        sqlite_synchronous=args.sqlite_synchronous,
        redis_url=args.redis_url,
        api_rate=args.api_rate,
        api_burst=args.api_burst,
        speech=SpeechSettings(
            model_path=args.model,
            device=args.device,
            workers=args.speech_workers,
            preload=not args.lazy_model,
        ),
        live=LiveSettings(
            idle_timeout_s=args.idle_timeout,
            max_duration_s=args.max_duration,
            reap_interval_s=args.reap_interval,
        ),
        transcript_retention_s=args.transcript_retention,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        max_connections_per_address=args.max_connections_per_address,
        trusted_addresses=tuple(args.trusted_address or ()),
        new_connections_per_second=args.new_connections_per_second,
        max_audio_speed=args.max_audio_speed,
        audio_burst_s=args.audio_burst,
        media_address=args.media_address,
        max_video_sources=args.max_video_sources,
        video_subscription_limit=args.video_subscription_limit,
        turn=_turn_settings(args),
        limits=Limits(
            max_active_meetings=args.max_active_meetings,
            max_attendees=args.max_attendees,
            max_transcriptions=args.max_transcriptions,
        ),
    )


def _load_credentials(settings: Settings) -> CredentialStore:
    if settings.credentials_file is not None:
        store = CredentialStore.from_file(settings.credentials_file)
        accounts = sorted({i.account_id for i in store.identities})
        print(
            f"parley: {len(store.identities)} identities for accounts {', '.join(accounts)} "
            f"from {settings.credentials_file}",
            flush=True,
        )
        return store
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store, created = CredentialStore.load_or_create(settings.credentials_path)
    verb = "created" if created else "using"
    print(f"parley: {verb} local credentials in {settings.credentials_path}\n", flush=True)
    print(usage_text(store.identities[0], settings.default_endpoint), flush=True)
    return store


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from parley.app import create_app
    from parley.guard import ConnectionGuard, guarded_protocols

    configure_logging(args.log_level, args.log_format)
    try:
        settings = _settings(args)
    except (ValueError, OSError) as exc:  # TurnConfigError, the secret file
        print(f"parley: bad TURN settings: {exc}", file=sys.stderr)
        return 2
    try:
        credentials = _load_credentials(settings)
    except (CredentialsError, OSError) as exc:
        print(f"parley: cannot load credentials: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        reason = (
            "the port is already in use (is another parley running?); stop it or choose another with --port"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror or str(exc)
        )
        print(f"parley: cannot listen on {settings.host}:{settings.port}: {reason}", file=sys.stderr)
        return 1
    app = create_app(settings, credentials)
    http, ws = guarded_protocols(
        ConnectionGuard(
            header_timeout_s=settings.header_timeout_s,
            max_per_address=settings.max_connections_per_address,
            new_per_second=settings.new_connections_per_second,
            new_burst=4 * settings.new_connections_per_second,
            trusted=settings.trusted_addresses,
        )
    )
    config = uvicorn.Config(
        app,
        log_config=None,  # parley.logs configured the root logger; uvicorn's loggers propagate to it
        access_log=False,
        ws_max_size=1 << 20,
        loop="uvloop",
        http=http,
        ws=ws,
        lifespan="on",
    )
    _server_class()(config, f"parley: listening on {settings.default_endpoint}", app.drain).run(
        sockets=[sock]
    )
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so a busy port fails at once and clearly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, saying "listening" only once the app has started and the socket serves."""

        def __init__(
            self,
            config: uvicorn.Config,
            ready_line: str,
            drain: Callable[[], Awaitable[None]] | None = None,
        ) -> None:
            super().__init__(config)
            self.ready_line = ready_line
            self.drain = drain

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(self.ready_line, flush=True)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Stop accepting (as uvicorn does first), then let the app close its sockets its own way before
            # uvicorn closes the rest with 1012 (ParleyApp.drain).
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            if self.drain is not None:
                try:
                    async with asyncio.timeout(5.0):
                        await self.drain()
                except Exception:
                    logging.getLogger(__name__).exception("draining the app before shutdown failed")
            await super().shutdown(sockets)

    return Server


def _client_options() -> argparse.ArgumentParser:
    """Options every client command takes (a parent parser, so they go after the subcommand)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("connection")
    g.add_argument(
        "--endpoint-url",
        default=None,
        help="the parley server (default: $AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS, else $AWS_ENDPOINT_URL, "
        "else http://127.0.0.1:8000)",
    )
    g.add_argument("--profile", default=None, help="AWS profile for credentials (default: $AWS_PROFILE)")
    g.add_argument(
        "--region",
        default=None,
        help="signing region (default: the profile's or $AWS_DEFAULT_REGION, else us-east-1)",
    )
    return common


def _csv(text: str) -> str:
    """Comma lists go to the API as one string (the model's type), with stray spaces removed."""
    return ",".join(p.strip() for p in text.split(",") if p.strip())


def _client_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = _client_options()

    def group(name: str, help_text: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="action", required=True, metavar="ACTION")

    meeting = group("meeting", "create, inspect, list and delete meetings")
    p = meeting.add_parser("create", parents=[common], help="CreateMeeting")
    p.add_argument("--external-id", help="ExternalMeetingId (default parley-cli-<random>)")
    p.add_argument("--media-region", default="us-east-1", help="MediaRegion (default us-east-1)")
    p.add_argument("--max-attendees", type=int, help="MeetingFeatures.Attendee.MaxCount")
    p = meeting.add_parser("get", parents=[common], help="GetMeeting")
    p.add_argument("meeting_id", metavar="MEETING")
    p = meeting.add_parser("delete", parents=[common], help="DeleteMeeting")
    p.add_argument("meeting_id", metavar="MEETING")
    meeting.add_parser(
        "list",
        parents=[common],
        help="the meetings created with this CLI that are still active",
        description=(
            "The Chime API has no ListMeetings and parley adds none. This lists the meetings that `parley "
            "meeting create` made for the same endpoint and credentials (remembered in ~/.parley-cli/"
            "meetings.json), checking each with GetMeeting and forgetting those that have ended. Meetings "
            "created by other clients are not shown."
        ),
    )

    attendee = group("attendee", "add, list and remove attendees")
    p = attendee.add_parser("create", parents=[common], help="CreateAttendee (idempotent per ExternalUserId)")
    p.add_argument("meeting_id", metavar="MEETING")
    p.add_argument("--external-user-id", required=True, help="ExternalUserId (shown as the speaker name)")
    p.add_argument(
        "--capabilities",
        help="e.g. Audio=Receive,Video=None,Content=None (unnamed ones stay SendReceive)",
    )
    p = attendee.add_parser("list", parents=[common], help="ListAttendees (all pages)")
    p.add_argument("meeting_id", metavar="MEETING")
    p = attendee.add_parser("delete", parents=[common], help="DeleteAttendee")
    p.add_argument("meeting_id", metavar="MEETING")
    p.add_argument("attendee_id", metavar="ATTENDEE")

    transcription = group("transcription", "start and stop live transcription")
    p = transcription.add_parser(
        "start",
        parents=[common],
        help="StartMeetingTranscription with EngineTranscribeSettings",
        description="Each option maps to one EngineTranscribeSettings field; the server validates combinations.",
    )
    p.add_argument("meeting_id", metavar="MEETING")
    lang = p.add_mutually_exclusive_group(required=True)
    lang.add_argument("--language", help="LanguageCode, e.g. en-US")
    lang.add_argument("--identify-language", action="store_true", help="IdentifyLanguage")
    p.add_argument("--language-options", type=_csv, help="LanguageOptions, e.g. en-US,de-DE")
    p.add_argument("--preferred-language", help="PreferredLanguage")
    p.add_argument(
        "--stabilization",
        choices=["low", "medium", "high"],
        help="EnablePartialResultsStabilization with this PartialResultsStability",
    )
    p.add_argument(
        "--transcribe-region", "--engine-region", help="EngineTranscribeSettings.Region (e.g. auto)"
    )
    pii = p.add_mutually_exclusive_group()
    pii.add_argument("--pii-identification", action="store_true", help="ContentIdentificationType=PII")
    pii.add_argument("--pii-redaction", action="store_true", help="ContentRedactionType=PII")
    p.add_argument("--pii-entity-types", type=_csv, help="PiiEntityTypes, e.g. NAME,ADDRESS")
    p.add_argument("--vocabulary", help="VocabularyName")
    p.add_argument("--vocabulary-filter", help="VocabularyFilterName")
    p.add_argument("--filter-method", choices=["remove", "mask", "tag"], help="VocabularyFilterMethod")
    p = transcription.add_parser("stop", parents=[common], help="StopMeetingTranscription")
    p.add_argument("meeting_id", metavar="MEETING")

    p = sub.add_parser(
        "join",
        parents=[common],
        help="stream an audio file into a meeting and show live captions",
        description=(
            "Join MEETING as an attendee, stream FILE (any format PyAV/FFmpeg reads, resampled to 16 kHz mono) "
            "over the audio socket at real-time pace, and print the live captions. On a terminal, partials "
            "update in place; otherwise only final results are printed, one 'speaker: text' line each. "
            "At the end the client sends stop and waits for the last final result."
        ),
    )
    p.add_argument("meeting_id", metavar="MEETING")
    p.add_argument(
        "--attendee",
        required=True,
        help="an AttendeeId, or an ExternalUserId (the attendee is created if it does not exist)",
    )
    p.add_argument("--audio", required=True, type=Path, metavar="FILE", help="the audio file to stream")
    p.add_argument(
        "--fast", action="store_true", help="send at twice real time (the most a server accepts by default)"
    )

    transcript = group(
        "transcript", "list, download and delete stored transcripts (also of meetings that have ended)"
    )
    transcript.add_parser(
        "list",
        parents=[common],
        help="the account's stored transcripts, newest first (all pages)",
        description="A SigV4-signed GET of /transcripts, every page.",
    )
    p = transcript.add_parser(
        "get",
        parents=[common],
        help="download a meeting's stored transcript",
        description="A SigV4-signed GET of /meetings/MEETING/transcript.",
    )
    p.add_argument("meeting_id", metavar="MEETING")
    p.add_argument("--format", choices=["vtt", "srt", "json"], default="vtt", help="json is JSON lines")
    p.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")
    p = transcript.add_parser(
        "delete",
        parents=[common],
        help="delete a meeting's stored transcript",
        description="A SigV4-signed DELETE of /meetings/MEETING/transcript. It cannot be undone.",
    )
    p.add_argument("meeting_id", metavar="MEETING")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="parley", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"parley {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    _client_parsers(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    from parley.client.commands import run

    command = f"{args.command} {args.action}" if getattr(args, "action", None) else args.command
    return run(command, args)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parley")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
