"""Every acknowledged write survives ``kill -9`` of the real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.server import ServerProcess, write_credentials


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_acknowledged_writes_survive_kill_9(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    args: list[str] = []
    if backend == "postgres":
        args = ["--database-url", request.getfixturevalue("pg_url")]
    creds = write_credentials(tmp_path / "credentials")
    server = ServerProcess(data_dir=tmp_path / "data", credentials=creds, extra_args=args).start()
    try:
        chime = server.client()
        created = []
        for i in range(20):
            m = chime.create_meeting(ExternalMeetingId=f"durable-{i}", MediaRegion="us-east-1")["Meeting"]
            a = chime.create_attendee(MeetingId=m["MeetingId"], ExternalUserId=f"user-{i}")["Attendee"]
            chime.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": "n", "Value": str(i)}])
            created.append((m, a))
        chime.start_meeting_transcription(
            MeetingId=created[0][0]["MeetingId"],
            TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        )
        chime.delete_meeting(MeetingId=created[-1][0]["MeetingId"])
        server.kill9()
        server = ServerProcess(
            data_dir=tmp_path / "data", credentials=creds, extra_args=args, port=server.port
        ).start()
        chime = server.client()
        for i, (m, a) in enumerate(created[:-1]):
            assert chime.get_meeting(MeetingId=m["MeetingId"])["Meeting"] == m
            assert (
                chime.get_attendee(MeetingId=m["MeetingId"], AttendeeId=a["AttendeeId"])["Attendee"][
                    "ExternalUserId"
                ]
                == f"user-{i}"
            )
            assert chime.list_tags_for_resource(ResourceARN=m["MeetingArn"])["Tags"] == [
                {"Key": "n", "Value": str(i)}
            ]
        with pytest.raises(chime.exceptions.NotFoundException):
            chime.get_meeting(MeetingId=created[-1][0]["MeetingId"])
        # The transcription state survived: stopping it succeeds exactly once.
        chime.stop_meeting_transcription(MeetingId=created[0][0]["MeetingId"])
        with pytest.raises(chime.exceptions.UnprocessableEntityException):
            chime.stop_meeting_transcription(MeetingId=created[0][0]["MeetingId"])
    finally:
        server.stop()
