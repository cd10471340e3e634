"""boto3's ``transcribe`` client manages vocabularies and filters against the real server process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.server import ServerProcess


def test_vocabulary_lifecycle(transcribe: Any) -> None:
    created = transcribe.create_vocabulary(
        VocabularyName="lifecycle", LanguageCode="en-US", Phrases=["Chime", "Los-Angeles"]
    )
    assert created["VocabularyName"] == "lifecycle"
    assert created["VocabularyState"] == "READY"
    assert isinstance(created["LastModifiedTime"], dt.datetime)
    got = transcribe.get_vocabulary(VocabularyName="lifecycle")
    assert (got["LanguageCode"], got["VocabularyState"]) == ("en-US", "READY")
    updated = transcribe.update_vocabulary(
        VocabularyName="lifecycle", LanguageCode="en-GB", Phrases=["parley"]
    )
    assert updated["LanguageCode"] == "en-GB"
    assert transcribe.get_vocabulary(VocabularyName="lifecycle")["LanguageCode"] == "en-GB"
    names = [v["VocabularyName"] for v in transcribe.list_vocabularies()["Vocabularies"]]
    assert "lifecycle" in names
    transcribe.delete_vocabulary(VocabularyName="lifecycle")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.get_vocabulary(VocabularyName="lifecycle")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.delete_vocabulary(VocabularyName="lifecycle")


def test_vocabulary_errors(transcribe: Any) -> None:
    transcribe.create_vocabulary(VocabularyName="taken", LanguageCode="en-US", Phrases=["one"])
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.create_vocabulary(VocabularyName="taken", LanguageCode="en-US", Phrases=["two"])
    with pytest.raises(transcribe.exceptions.BadRequestException) as info:
        transcribe.create_vocabulary(VocabularyName="bad name!", LanguageCode="en-US", Phrases=["x"])
    assert "regular expression pattern" in info.value.response["Error"]["Message"]
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.create_vocabulary(VocabularyName="neither", LanguageCode="en-US")
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.create_vocabulary(
            VocabularyName="web", LanguageCode="en-US", VocabularyFileUri="https://example.com/v.txt"
        )
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.create_vocabulary(
            VocabularyName="escape", LanguageCode="en-US", VocabularyFileUri="s3://../../etc/passwd"
        )
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.update_vocabulary(VocabularyName="missing", LanguageCode="en-US", Phrases=["x"])


def test_vocabulary_from_file(transcribe: Any, server: ServerProcess) -> None:
    folder = server.data_dir / "vocabulary-files" / "bucket"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table.txt").write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nsales-figures\t\t\tSalesFigures\n")
    created = transcribe.create_vocabulary(
        VocabularyName="from-file", LanguageCode="en-US", VocabularyFileUri="s3://bucket/table.txt"
    )
    assert created["VocabularyState"] == "READY"
    assert transcribe.get_vocabulary(VocabularyName="from-file")["DownloadUri"] == "s3://bucket/table.txt"


def test_list_pagination_and_filters(transcribe: Any) -> None:
    for i in range(7):
        transcribe.create_vocabulary_filter(
            VocabularyFilterName=f"page-{i}", LanguageCode="en-US", Words=[f"word{i}"]
        )
    first = transcribe.list_vocabulary_filters(NameContains="page-", MaxResults=4)
    assert [f["VocabularyFilterName"] for f in first["VocabularyFilters"]] == [f"page-{i}" for i in range(4)]
    second = transcribe.list_vocabulary_filters(
        NameContains="PAGE-", MaxResults=4, NextToken=first["NextToken"]
    )
    assert [f["VocabularyFilterName"] for f in second["VocabularyFilters"]] == [
        f"page-{i}" for i in range(4, 7)
    ]
    assert "NextToken" not in second
    ready = transcribe.list_vocabularies(StateEquals="READY")
    assert ready["Status"] == "READY"
    assert transcribe.list_vocabularies(StateEquals="FAILED")["Vocabularies"] == []


def test_vocabulary_filter_lifecycle_and_errors(transcribe: Any, server: ServerProcess) -> None:
    created = transcribe.create_vocabulary_filter(
        VocabularyFilterName="rude", LanguageCode="en-US", Words=["darn", "heck"]
    )
    assert created["VocabularyFilterName"] == "rude"
    assert transcribe.get_vocabulary_filter(VocabularyFilterName="rude")["LanguageCode"] == "en-US"
    assert (
        transcribe.update_vocabulary_filter(VocabularyFilterName="rude", Words=["gosh"])["LanguageCode"]
        == "en-US"
    )
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.create_vocabulary_filter(VocabularyFilterName="rude", LanguageCode="en-US", Words=["x"])
    unchecked = server.client(service="transcribe", parameter_validation=False)
    with pytest.raises(unchecked.exceptions.BadRequestException) as info:
        unchecked.create_vocabulary_filter(VocabularyFilterName="empty", LanguageCode="en-US", Words=[])
    assert "length greater than or equal to 1" in info.value.response["Error"]["Message"]
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.create_vocabulary_filter(
            VocabularyFilterName="phrase", LanguageCode="en-US", Words=["two words"]
        )
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.update_vocabulary_filter(VocabularyFilterName="missing", Words=["x"])
    transcribe.delete_vocabulary_filter(VocabularyFilterName="rude")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.get_vocabulary_filter(VocabularyFilterName="rude")


def test_accounts_are_isolated_and_requests_signed(server: ServerProcess) -> None:
    alice = server.client("alice", service="transcribe")
    bob = server.client("bob", service="transcribe")
    alice.create_vocabulary_filter(VocabularyFilterName="private", LanguageCode="en-US", Words=["x"])
    with pytest.raises(bob.exceptions.NotFoundException):
        bob.get_vocabulary_filter(VocabularyFilterName="private")
    # A request signed for the wrong service is refused before it reaches the operation.
    chime_signed = server.client("alice", service="chime-sdk-meetings")
    chime_signed.meta.events.register(
        "before-sign.chime-sdk-meetings.GetMeeting",
        lambda request, **_kw: request.headers.__setitem__("X-Amz-Target", "Transcribe.GetVocabularyFilter"),
    )
    with pytest.raises(ClientError) as info:
        chime_signed.get_meeting(MeetingId="00000000-0000-0000-0000-000000000000")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def test_start_transcription_resolves_names(transcribe: Any, chime: Any) -> None:
    transcribe.create_vocabulary(VocabularyName="meet-vocab", LanguageCode="en-US", Phrases=["parley"])
    transcribe.create_vocabulary_filter(
        VocabularyFilterName="meet-filter", LanguageCode="en-US", Words=["budget"]
    )
    meeting = chime.create_meeting(
        ClientRequestToken="vocab-resolve", MediaRegion="us-east-1", ExternalMeetingId="vocab"
    )["Meeting"]
    mid = meeting["MeetingId"]

    def start(**settings: Any) -> None:
        chime.start_meeting_transcription(
            MeetingId=mid,
            TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US", **settings}},
        )

    start(VocabularyName="meet-vocab", VocabularyFilterName="meet-filter", VocabularyFilterMethod="remove")
    chime.stop_meeting_transcription(MeetingId=mid)
    # A missing name fails asynchronously (decision D5): the call answers 200, Stop then finds nothing active.
    start(VocabularyName="no-such-vocabulary")
    with pytest.raises(chime.exceptions.UnprocessableEntityException):
        chime.stop_meeting_transcription(MeetingId=mid)


def test_medical_vocabulary_lifecycle_in_its_own_namespace(transcribe: Any, server: ServerProcess) -> None:
    folder = server.data_dir / "vocabulary-files" / "clinic"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drugs.txt").write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nzolvarin\t\t\tZolvarin\n")
    transcribe.create_vocabulary(VocabularyName="shared-name", LanguageCode="en-US", Phrases=["plain"])
    created = transcribe.create_medical_vocabulary(
        VocabularyName="shared-name", LanguageCode="en-US", VocabularyFileUri="s3://clinic/drugs.txt"
    )
    assert (created["VocabularyName"], created["VocabularyState"]) == ("shared-name", "READY")
    got = transcribe.get_medical_vocabulary(VocabularyName="shared-name")
    assert got["DownloadUri"] == "s3://clinic/drugs.txt"
    assert got["LanguageCode"] == "en-US"
    listed = transcribe.list_medical_vocabularies(NameContains="SHARED")["Vocabularies"]
    assert [v["VocabularyName"] for v in listed] == ["shared-name"]
    updated = transcribe.update_medical_vocabulary(
        VocabularyName="shared-name", LanguageCode="en-US", VocabularyFileUri="s3://clinic/drugs.txt"
    )
    assert updated["VocabularyState"] == "READY"
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.create_medical_vocabulary(
            VocabularyName="shared-name", LanguageCode="en-US", VocabularyFileUri="s3://clinic/drugs.txt"
        )
    with pytest.raises(transcribe.exceptions.BadRequestException, match="only the language code en-US"):
        transcribe.create_medical_vocabulary(
            VocabularyName="british", LanguageCode="en-GB", VocabularyFileUri="s3://clinic/drugs.txt"
        )
    with pytest.raises(transcribe.exceptions.BadRequestException, match="couldn't be found"):
        transcribe.create_medical_vocabulary(
            VocabularyName="missing", LanguageCode="en-US", VocabularyFileUri="s3://clinic/none.txt"
        )
    transcribe.delete_medical_vocabulary(VocabularyName="shared-name")
    with pytest.raises(transcribe.exceptions.NotFoundException):
        transcribe.get_medical_vocabulary(VocabularyName="shared-name")
    # The plain vocabulary of the same name is untouched.
    assert transcribe.get_vocabulary(VocabularyName="shared-name")["VocabularyState"] == "READY"


def test_medical_transcription_resolves_medical_vocabularies_only(
    transcribe: Any, chime: Any, server: ServerProcess
) -> None:
    folder = server.data_dir / "vocabulary-files" / "ward"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "terms.txt").write_text("metoprolol\n")
    transcribe.create_medical_vocabulary(
        VocabularyName="ward-terms", LanguageCode="en-US", VocabularyFileUri="s3://ward/terms.txt"
    )
    transcribe.create_vocabulary(VocabularyName="plain-only", LanguageCode="en-US", Phrases=["parley"])
    mid = chime.create_meeting(
        ClientRequestToken="medical-vocab", MediaRegion="us-east-1", ExternalMeetingId="ward"
    )["Meeting"]["MeetingId"]

    def start(name: str) -> None:
        chime.start_meeting_transcription(
            MeetingId=mid,
            TranscriptionConfiguration={
                "EngineTranscribeMedicalSettings": {
                    "LanguageCode": "en-US",
                    "Specialty": "PRIMARYCARE",
                    "Type": "CONVERSATION",
                    "VocabularyName": name,
                }
            },
        )

    start("ward-terms")
    chime.stop_meeting_transcription(MeetingId=mid)  # it started: Stop finds it active
    # A plain (non-medical) vocabulary's name does not resolve for Transcribe Medical: failed, nothing to stop.
    start("plain-only")
    with pytest.raises(chime.exceptions.UnprocessableEntityException):
        chime.stop_meeting_transcription(MeetingId=mid)
