"""The API commands against the real server: AWS-CLI-like JSON out, AWS error codes on stderr, exit 1."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.server import IDENTITIES
from parley.cli import _client_parsers
from parley.client.commands import engine_settings
from tests.cli.conftest import Cli, json_out


def create_meeting(cli: Cli, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    meeting = json_out(cli.run("meeting", "create", *extra, env=env))["Meeting"]
    assert isinstance(meeting, dict)
    return meeting


def test_meeting_lifecycle_and_list(cli: Cli) -> None:
    first = create_meeting(cli, "--external-id", "cli-one", "--max-attendees", "3")
    second = create_meeting(cli, "--external-id", "cli-two")
    assert first["ExternalMeetingId"] == "cli-one"
    assert first["MeetingFeatures"]["Attendee"]["MaxCount"] == 3
    assert first["MediaPlacement"]["AudioFallbackUrl"].endswith(f"/calls/{first['MeetingId']}")

    got = json_out(cli.run("meeting", "get", first["MeetingId"]))
    assert got["Meeting"]["MeetingId"] == first["MeetingId"]
    assert "ResponseMetadata" not in got

    listed = {m["MeetingId"] for m in json_out(cli.run("meeting", "list"))["Meetings"]}  # type: ignore[attr-defined]
    assert {first["MeetingId"], second["MeetingId"]} <= listed

    cli.run("meeting", "delete", first["MeetingId"])
    listed = {m["MeetingId"] for m in json_out(cli.run("meeting", "list"))["Meetings"]}  # type: ignore[attr-defined]
    assert first["MeetingId"] not in listed
    assert second["MeetingId"] in listed

    # Another account on the same endpoint has its own list.
    key, secret, _ = IDENTITIES["bob"]
    other = json_out(
        cli.run("meeting", "list", env={"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
    )
    assert other == {"Meetings": []}


def test_attendees(cli: Cli) -> None:
    mid = create_meeting(cli)["MeetingId"]
    sam = json_out(cli.run("attendee", "create", mid, "--external-user-id", "sam"))["Attendee"]
    lee = json_out(
        cli.run(
            "attendee",
            "create",
            mid,
            "--external-user-id",
            "lee",
            "--capabilities",
            "Audio=Receive,Video=None,Content=None",
        )
    )["Attendee"]
    assert isinstance(sam, dict)
    assert isinstance(lee, dict)
    assert sam["JoinToken"]
    assert lee["Capabilities"] == {"Audio": "Receive", "Video": "None", "Content": "None"}
    # Idempotent per ExternalUserId (decisions D9): the same attendee and token come back.
    again = json_out(cli.run("attendee", "create", mid, "--external-user-id", "sam"))["Attendee"]
    assert again == sam

    listed = json_out(cli.run("attendee", "list", mid))["Attendees"]
    assert {a["AttendeeId"] for a in listed} == {sam["AttendeeId"], lee["AttendeeId"]}  # type: ignore[attr-defined]
    cli.run("attendee", "delete", mid, lee["AttendeeId"])
    listed = json_out(cli.run("attendee", "list", mid))["Attendees"]
    assert [a["AttendeeId"] for a in listed] == [sam["AttendeeId"]]  # type: ignore[attr-defined]


def test_errors_are_aws_codes_not_tracebacks(cli: Cli, tmp_path: Path) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    result = cli.run("meeting", "get", missing, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("parley: NotFoundException: ")

    mid = create_meeting(cli)["MeetingId"]
    result = cli.run("transcription", "start", mid, "--language", "xx-XX", check=False)
    assert result.returncode == 1
    assert "BadRequestException" in result.stderr

    result = cli.run("transcript", "get", missing, "--format", "vtt", check=False)
    assert (result.returncode, result.stderr.split(":")[1].strip()) == (1, "NotFoundException")

    result = cli.run("meeting", "list", env={"AWS_SECRET_ACCESS_KEY": "wrong"}, check=False)
    assert result.returncode == 1
    assert "parley: " in result.stderr

    result = cli.run("meeting", "get", mid, "--endpoint-url", "http://127.0.0.1:9", check=False)
    assert result.returncode == 1
    assert "EndpointConnection" in result.stderr
    assert "parley: hint: is the server running?" in result.stderr, "an error says what to try"

    result = cli.run("join", mid, "--attendee", "x", "--audio", str(tmp_path / "nope.wav"), check=False)
    assert (result.returncode, result.stderr.splitlines()[0]) == (
        1,
        f"parley: FileNotFound: {tmp_path / 'nope.wav'}: no such file",
    )


def test_join_refuses_a_file_that_is_not_audio_before_anyone_joins(cli: Cli, tmp_path: Path) -> None:
    mid = create_meeting(cli)["MeetingId"]
    notes = tmp_path / "notes.wav"
    notes.write_text("these are meeting notes, not audio\n")
    result = cli.run("join", mid, "--attendee", "Robin", "--audio", str(notes), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"parley: UnreadableAudio: {notes}: not audio FFmpeg can decode")
    assert "parley: hint: give a file FFmpeg can decode" in result.stderr
    assert json_out(cli.run("attendee", "list", mid))["Attendees"] == [], "nobody joined"


def test_endpoint_follows_the_aws_cli_precedence(cli: Cli) -> None:
    """--endpoint-url, then AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS, then AWS_ENDPOINT_URL (as the AWS CLI)."""
    dead = "http://127.0.0.1:9"

    def reaches(extra_env: dict[str, str], *args: str) -> bool:
        variables = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS")
        unset = tuple(v for v in variables if v not in extra_env)
        result = cli.run("transcript", "list", *args, env=extra_env, drop=unset, check=False)
        return result.returncode == 0

    assert reaches({"AWS_ENDPOINT_URL": cli.endpoint})
    assert not reaches({"AWS_ENDPOINT_URL": dead})
    assert reaches({"AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS": cli.endpoint, "AWS_ENDPOINT_URL": dead})
    assert not reaches({"AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS": dead, "AWS_ENDPOINT_URL": cli.endpoint})
    assert reaches({"AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS": dead}, "--endpoint-url", cli.endpoint)


def test_version(cli: Cli) -> None:
    from importlib.metadata import version

    result = cli.run("--version")
    assert result.stdout.strip() == f"parley {version('parley')}"


def test_profile_from_shared_credentials(cli: Cli, tmp_path: Path) -> None:
    """--profile / AWS_PROFILE resolve through the ordinary AWS files, as in every AWS SDK."""
    key, secret, _ = IDENTITIES["alex"]
    creds = tmp_path / "credentials"
    creds.write_text(f"[alex]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    meeting = create_meeting(cli, "--profile", "alex", "--region", "eu-west-1", env=env)
    # alex shares alice's account, so alice sees it.
    assert (
        json_out(cli.run("meeting", "get", meeting["MeetingId"]))["Meeting"]["MeetingId"]
        == meeting["MeetingId"]
    )  # type: ignore[index]
    result = cli.run("meeting", "get", meeting["MeetingId"], env={**env, "AWS_PROFILE": "alex"})
    assert json.loads(result.stdout)["Meeting"]["MeetingId"] == meeting["MeetingId"]
    result = cli.run("meeting", "get", meeting["MeetingId"], "--profile", "nobody", env=env, check=False)
    assert (result.returncode, result.stderr.split(":")[1].strip()) == (1, "ProfileNotFound")


def test_transcription_and_empty_transcript(cli: Cli, tmp_path: Path) -> None:
    mid = create_meeting(cli)["MeetingId"]
    started = cli.run("transcription", "start", mid, "--language", "en-US", "--stabilization", "high")
    assert started.stdout == ""
    cli.run("transcription", "stop", mid)
    out = tmp_path / "t.vtt"
    cli.run("transcript", "get", mid, "--format", "vtt", "-o", str(out))
    assert out.read_text().startswith("WEBVTT")
    assert cli.run("transcript", "get", mid, "--format", "json").stdout == ""


def test_transcripts_of_ended_meetings_are_listed_fetched_and_deleted(cli: Cli) -> None:
    mid = create_meeting(cli, "--external-id", "cli-kept")["MeetingId"]
    cli.run("transcription", "start", mid, "--language", "en-US")
    cli.run("meeting", "delete", mid)
    listed = {t["MeetingId"]: t for t in json_out(cli.run("transcript", "list"))["Transcripts"]}  # type: ignore[attr-defined]
    assert listed[mid]["ExternalMeetingId"] == "cli-kept"
    assert "MeetingEndedAt" in listed[mid]
    assert cli.run("transcript", "get", mid).stdout.startswith("WEBVTT")
    cli.run("transcript", "delete", mid)
    gone = cli.run("transcript", "get", mid, check=False)
    assert (gone.returncode, gone.stderr.split(":")[1].strip()) == (1, "NotFoundException")
    assert mid not in {t["MeetingId"] for t in json_out(cli.run("transcript", "list"))["Transcripts"]}  # type: ignore[attr-defined]


def test_transcription_options_map_to_engine_settings() -> None:
    parser = argparse.ArgumentParser()
    _client_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "transcription", "start", "m", "--identify-language", "--language-options", "en-US, de-DE",
            "--preferred-language", "de-DE", "--stabilization", "low", "--transcribe-region", "auto",
            "--pii-redaction", "--pii-entity-types", "NAME,ADDRESS", "--vocabulary", "v",
            "--vocabulary-filter", "f", "--filter-method", "mask",
        ]
    )  # fmt: skip
    assert engine_settings(args) == {
        "IdentifyLanguage": True,
        "LanguageOptions": "en-US,de-DE",
        "PreferredLanguage": "de-DE",
        "EnablePartialResultsStabilization": True,
        "PartialResultsStability": "low",
        "Region": "auto",
        "ContentRedactionType": "PII",
        "PiiEntityTypes": "NAME,ADDRESS",
        "VocabularyName": "v",
        "VocabularyFilterName": "f",
        "VocabularyFilterMethod": "mask",
    }
    args = parser.parse_args(["transcription", "start", "m", "--language", "en-US", "--pii-identification"])
    assert engine_settings(args) == {"LanguageCode": "en-US", "ContentIdentificationType": "PII"}
