"""The credentials file: parsing, validation, first-run creation and the usage text."""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest

from parley.credentials import (
    CredentialsError,
    CredentialStore,
    Identity,
    generate_identity,
    render_file,
    usage_text,
)

MULTI = """\
# comment lines are fine
[alice]
aws_access_key_id = AKIAALICE00000000001
aws_secret_access_key = alice-secret/key+%0000000000000000000001
account_id = 111122223333

[alex]
aws_access_key_id=AKIAALEX000000000002
aws_secret_access_key=alex-secret-key-00000000000000000000000002
account_id=111122223333
region = eu-west-1

[DEFAULT]
aws_access_key_id = AKIABOB0000000000003
aws_secret_access_key = bob-secret-key-000000000000000000000000003
account_id = 044455556666
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credentials"
    path.write_text(text)
    return path


def test_multiple_identities_and_accounts(tmp_path: Path) -> None:
    store = CredentialStore.from_file(write(tmp_path, MULTI))
    assert [i.name for i in store.identities] == ["alice", "alex", "DEFAULT"]
    alice = store.lookup("AKIAALICE00000000001")
    assert alice == Identity(
        "alice", "AKIAALICE00000000001", "alice-secret/key+%0000000000000000000001", "111122223333"
    )
    alex = store.lookup("AKIAALEX000000000002")
    assert alex is not None
    assert alex.account_id == alice.account_id
    bob = store.lookup("AKIABOB0000000000003")
    assert bob is not None
    assert bob.account_id == "044455556666"  # leading zero kept: ids are strings
    assert store.lookup("AKIAUNKNOWN000000000") is None
    assert store.lookup("") is None
    assert len(store) == 3


def test_round_trip(tmp_path: Path) -> None:
    identities = [generate_identity("one"), generate_identity("two")]
    path = write(tmp_path, render_file(identities))
    assert CredentialStore.from_file(path).identities == tuple(identities)


def test_secret_never_in_repr() -> None:
    identity = generate_identity()
    assert identity.secret_access_key not in repr(identity)
    assert identity.access_key_id in repr(identity)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no identities"),
        ("# only a comment\n", "no identities"),
        (
            "[a]\naws_access_key_id = AKIA1\naccount_id = 111122223333\n",
            "[a] is missing 'aws_secret_access_key'",
        ),
        ("[a]\naws_secret_access_key = s\naccount_id = 111122223333\n", "[a] is missing 'aws_access_key_id'"),
        ("[a]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n", "[a] is missing 'account_id'"),
        (
            "[a]\naws_access_key_id =\naws_secret_access_key = s\naccount_id = 111122223333\n",
            "missing 'aws_access_key_id'",
        ),
        (
            "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = s\naccount_id = 12345\n",
            "account_id '12345' must be exactly 12 digits",
        ),
        (
            "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = s\naccount_id = 11112222333a\n",
            "must be exactly 12 digits",
        ),
        (
            "[a]\naws_access_key_id = AKIA/1\naws_secret_access_key = s\naccount_id = 111122223333\n",
            "aws_access_key_id 'AKIA/1'",
        ),
        (
            "[a]\naws_access_key_id = AK IA\naws_secret_access_key = s\naccount_id = 111122223333\n",
            "aws_access_key_id 'AK IA'",
        ),
        (
            "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = s\naccount_id = 111122223333\n"
            "[b]\naws_access_key_id = AKIA1\naws_secret_access_key = t\naccount_id = 444455556666\n",
            "'AKIA1' is already used by [a]",
        ),
        (
            "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = s\naccount_id = 111122223333\n"
            "[a]\naws_access_key_id = AKIA2\naws_secret_access_key = t\naccount_id = 444455556666\n",
            "malformed credentials file",
        ),
        ("[a]\naws_access_key_id = AKIA1\naws_access_key_id = AKIA2\n", "malformed credentials file"),
        ("aws_access_key_id = AKIA1\n", "malformed credentials file"),
        ("[a\n", "malformed credentials file"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CredentialsError) as info:
        CredentialStore.from_file(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(b"[a]\naws_access_key_id = \xff\n")
    with pytest.raises(CredentialsError, match="UTF-8"):
        CredentialStore.from_file(path)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CredentialStore.from_file(tmp_path / "nope")


def test_constructor_rejects_duplicates_and_bad_values() -> None:
    a = generate_identity("a")
    with pytest.raises(CredentialsError, match="already used"):
        CredentialStore([a, Identity("b", a.access_key_id, "other", "123456789012")])
    with pytest.raises(CredentialsError, match="12 digits"):
        CredentialStore([Identity("c", "AKIA1", "s", "1")])


def test_generated_identity_looks_like_aws() -> None:
    seen = set()
    for _ in range(20):
        identity = generate_identity()
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", identity.access_key_id)
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", identity.secret_access_key)
        assert re.fullmatch(r"[1-9][0-9]{11}", identity.account_id)
        seen.add(identity.access_key_id)
    assert len(seen) == 20


def test_create_default_writes_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "credentials"
    old_umask = os.umask(0)  # even with a permissive umask the file must be private
    try:
        store = CredentialStore.create_default(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(store.identities) == 1
    assert store.identities[0].name == "default"
    assert CredentialStore.from_file(path).identities == store.identities


def test_create_default_never_overwrites(tmp_path: Path) -> None:
    path = write(tmp_path, MULTI)
    with pytest.raises(FileExistsError):
        CredentialStore.create_default(path)
    assert path.read_text() == MULTI


def test_create_default_is_private_from_the_first_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mode is set by the open() call itself, not fixed up after writing."""
    modes: list[int] = []
    real_open = os.open

    def spy_open(path: str | os.PathLike[str], flags: int, mode: int = 0o777, *a: object) -> int:
        modes.append(mode)
        fd = real_open(path, flags, mode)
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return fd

    monkeypatch.setattr(os, "open", spy_open)
    CredentialStore.create_default(tmp_path / "credentials")
    assert modes[0] == 0o600
    assert modes[1] & 0o077 == 0


def test_load_or_create(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    first, created = CredentialStore.load_or_create(path)
    assert created
    second, created_again = CredentialStore.load_or_create(path)
    assert not created_again
    assert first.identities == second.identities


def test_load_or_create_race(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    results: list[tuple[CredentialStore, bool]] = []
    threads = [
        threading.Thread(target=lambda: results.append(CredentialStore.load_or_create(path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert sum(created for _, created in results) == 1
    assert len({store.identities for store, _ in results}) == 1


def test_load_or_create_existing_malformed_file_is_not_replaced(tmp_path: Path) -> None:
    path = write(tmp_path, "[a]\n")
    with pytest.raises(CredentialsError):
        CredentialStore.load_or_create(path)
    assert path.read_text() == "[a]\n"


def test_usage_text() -> None:
    identity = Identity("default", "AKIAABCDEFGHIJKLMNOP", "abc/def+ghi", "123456789012")
    text = usage_text(identity, "http://127.0.0.1:8000")
    lines = text.splitlines()
    assert "  export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP" in lines
    assert "  export AWS_SECRET_ACCESS_KEY=abc/def+ghi" in lines
    assert "  export AWS_DEFAULT_REGION=us-east-1" in lines
    assert "aws chime-sdk-meetings create-meeting --endpoint-url http://127.0.0.1:8000" in text
    assert "--client-request-token t1 --media-region us-east-1 --external-meeting-id demo" in text
    assert "123456789012" in text
    # The boto3 snippet is real Python that builds a working client.
    start = lines.index("  import boto3")
    snippet = "\n".join(line[2:] for line in lines[start:] if not line.lstrip().startswith("client.create"))
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    client = namespace["client"]
    assert client.meta.endpoint_url == "http://127.0.0.1:8000"  # type: ignore[attr-defined]
    assert client.meta.region_name == "us-east-1"  # type: ignore[attr-defined]
    creds = client._request_signer._credentials  # type: ignore[attr-defined]
    assert (creds.access_key, creds.secret_key) == (identity.access_key_id, identity.secret_access_key)
    assert 'boto3.client(\n      "chime-sdk-meetings",' in text


def test_usage_text_quotes_awkward_values() -> None:
    identity = Identity("x", "AKIA1", "has space'quote\"", "123456789012")
    text = usage_text(identity, "http://h:1")
    assert "export AWS_SECRET_ACCESS_KEY='has space'\"'\"'quote\"'" in text
    assert 'aws_secret_access_key="has space\'quote\\""' in text
