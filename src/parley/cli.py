"""``parley`` command line: ``parley serve`` runs the server (more subcommands come with the client)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from parley.config import Settings
from parley.credentials import CredentialsError, CredentialStore, usage_text
from parley.live.runtime import LiveSettings
from parley.live.speech import SpeechSettings
from parley.meetings.service import Limits


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the parley server")
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
    p.add_argument("--speech-workers", type=int, default=1, help="speech inference worker threads")
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
        "--transcript-retention", type=float, default=0.0, help="keep transcripts of deleted meetings (s)"
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        credentials_file=args.credentials,
        database_url=args.database_url,
        public_url=args.public_url,
        sqlite_synchronous=args.sqlite_synchronous,
        redis_url=args.redis_url,
        speech=SpeechSettings(
            model_path=args.model,
            device=args.device,
            workers=args.speech_workers,
            preload=not args.lazy_model,
        ),
        live=LiveSettings(
            idle_timeout_s=args.idle_timeout, max_duration_s=args.max_duration, reap_interval_s=args.reap_interval
        ),
        transcript_retention_s=args.transcript_retention,
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

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = _settings(args)
    try:
        credentials = _load_credentials(settings)
    except (CredentialsError, OSError) as exc:
        print(f"parley: cannot load credentials: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, credentials)
    print(f"parley: listening on {settings.default_endpoint}", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning" if args.log_level == "info" else args.log_level,
        access_log=False,
        ws_max_size=1 << 20,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
