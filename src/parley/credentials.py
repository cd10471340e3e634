"""Identities that may call parley, read from an AWS shared-credentials style INI file.

Each section is one identity::

    [default]
    aws_access_key_id = AKIA...
    aws_secret_access_key = ...
    account_id = 123456789012

The format is deliberately the one the AWS CLI and SDKs already use, so an operator can copy a
section into ``~/.aws/credentials`` unchanged (``account_id`` is ignored by the SDKs). Several
identities, in one or several accounts, may appear; the account scopes which meetings an
identity can see.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import secrets
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CredentialStore",
    "CredentialsError",
    "Identity",
    "usage_text",
]

ACCESS_KEY_FIELD = "aws_access_key_id"
SECRET_KEY_FIELD = "aws_secret_access_key"
ACCOUNT_ID_FIELD = "account_id"

# Anything that cannot break the SigV4 ``Credential=AK/date/region/service/aws4_request`` syntax
# (no '/', ',', '=' or whitespace). Real AWS keys are 16-128 word characters; shorter keys such as
# the documentation's ``AKIDEXAMPLE`` are accepted too, for test fixtures.
_ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")

# AWS access key ids are ``AKIA`` followed by 16 characters of the RFC 4648 base32 alphabet.
_KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# AWS secret keys are 40 characters of the base64 alphabet.
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# A section name configparser will never see, so that ``[DEFAULT]`` is an ordinary identity
# rather than a block of values silently inherited by every other section.
_NO_DEFAULT_SECTION = "\x00parley-no-default-section"

DEFAULT_IDENTITY_NAME = "default"
DEFAULT_REGION = "us-east-1"


class CredentialsError(ValueError):
    """The credentials file cannot be used; the message names the file and the offending section."""


@dataclass(frozen=True)
class Identity:
    """One caller: the key pair it signs with and the account its resources belong to."""

    name: str
    access_key_id: str
    secret_access_key: str
    account_id: str

    def __repr__(self) -> str:
        # Never let the secret reach a log line through a repr().
        return (
            f"Identity(name={self.name!r}, access_key_id={self.access_key_id!r}, "
            f"secret_access_key='***', account_id={self.account_id!r})"
        )


class CredentialStore:
    """An immutable set of identities, indexed by access key id for the signature verifier."""

    def __init__(self, identities: Iterable[Identity]) -> None:
        by_key: dict[str, Identity] = {}
        for identity in identities:
            _validate_identity(identity, where=f"[{identity.name}]")
            previous = by_key.get(identity.access_key_id)
            if previous is not None:
                raise CredentialsError(
                    f"[{identity.name}]: aws_access_key_id {identity.access_key_id!r} is already "
                    f"used by [{previous.name}]; access key ids must be unique"
                )
            by_key[identity.access_key_id] = identity
        self._by_key = by_key

    @property
    def identities(self) -> tuple[Identity, ...]:
        """All identities, in file order."""
        return tuple(self._by_key.values())

    def lookup(self, access_key_id: str) -> Identity | None:
        """The identity owning ``access_key_id``, or ``None`` when it is not ours."""
        return self._by_key.get(access_key_id)

    def __len__(self) -> int:
        return len(self._by_key)

    # -- file handling -------------------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, *, source: str = "<credentials>") -> CredentialStore:
        """Parse credentials INI text; ``source`` only decorates error messages."""
        parser = configparser.ConfigParser(
            interpolation=None,  # secrets may contain '%'
            default_section=_NO_DEFAULT_SECTION,
            strict=True,
        )
        try:
            parser.read_string(text, source=source)
        except configparser.Error as exc:
            raise CredentialsError(f"{source}: malformed credentials file: {exc}") from exc
        identities: list[Identity] = []
        for name in parser.sections():
            section = parser[name]
            missing = [
                field
                for field in (ACCESS_KEY_FIELD, SECRET_KEY_FIELD, ACCOUNT_ID_FIELD)
                if not section.get(field, "").strip()
            ]
            if missing:
                raise CredentialsError(f"{source}: [{name}] is missing {', '.join(repr(m) for m in missing)}")
            identity = Identity(
                name=name,
                access_key_id=section[ACCESS_KEY_FIELD].strip(),
                secret_access_key=section[SECRET_KEY_FIELD].strip(),
                account_id=section[ACCOUNT_ID_FIELD].strip(),
            )
            _validate_identity(identity, where=f"{source}: [{name}]")
            identities.append(identity)
        if not identities:
            raise CredentialsError(f"{source}: no identities; expected at least one [section]")
        try:
            return cls(identities)
        except CredentialsError as exc:
            raise CredentialsError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CredentialStore:
        """Load the credentials file at ``path``; malformed content raises ``CredentialsError``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CredentialsError(f"{path}: credentials file is not valid UTF-8") from exc
        return cls.from_text(text, source=str(path))

    @classmethod
    def create_default(cls, path: str | os.PathLike[str]) -> CredentialStore:
        """Write a new credentials file holding one random identity and return its store.

        The file is created with ``O_EXCL`` and mode 0600 in the same system call, so it is never
        readable by others, not even for an instant; it appears atomically, complete, and an
        existing file is never overwritten (``FileExistsError``).
        """
        path = Path(path)
        identity = generate_identity()
        text = render_file([identity]).encode("utf-8")
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        # Write a private temporary file, then hard-link it into place: the link is atomic and
        # refuses to replace an existing file, so a concurrent load_or_create() never reads a
        # half-written file and two racing creators cannot both win.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        _write_private(tmp, text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            # No hard links on this filesystem: fall back to an exclusive create of the target.
            _write_private(path, text)
        finally:
            tmp.unlink(missing_ok=True)
        return cls([identity])

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> tuple[CredentialStore, bool]:
        """Load ``path``, creating it with a fresh identity first if absent; returns (store, created)."""
        path = Path(path)
        if not path.exists():
            try:
                return cls.create_default(path), True
            except FileExistsError:
                pass  # another process won the race; use what it wrote
        return cls.from_file(path), False


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` exclusively with mode 0600 set by the open() itself, write, fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only remove bits; make the mode exact anyway
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _validate_identity(identity: Identity, *, where: str) -> None:
    if not _ACCESS_KEY_RE.fullmatch(identity.access_key_id):
        raise CredentialsError(
            f"{where}: aws_access_key_id {identity.access_key_id!r} must be 1-128 characters "
            "of A-Z, a-z, 0-9, '_', '.', '-'"
        )
    if not identity.secret_access_key or identity.secret_access_key != identity.secret_access_key.strip():
        raise CredentialsError(
            f"{where}: aws_secret_access_key must be non-empty, without surrounding spaces"
        )
    if not _ACCOUNT_ID_RE.fullmatch(identity.account_id):
        raise CredentialsError(
            f"{where}: account_id {identity.account_id!r} must be exactly 12 digits, e.g. 123456789012"
        )


def generate_identity(name: str = DEFAULT_IDENTITY_NAME) -> Identity:
    """A random identity shaped like a real AWS one, so SDK-side validation never trips over it."""
    access_key_id = "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    # No leading zero: keeps the id intact if someone pastes it somewhere as a number.
    account_id = str(10**11 + secrets.randbelow(9 * 10**11))
    return Identity(name=name, access_key_id=access_key_id, secret_access_key=secret, account_id=account_id)


def render_file(identities: Iterable[Identity]) -> str:
    """The INI text for ``identities``, in the format ``from_text`` reads."""
    lines = [
        "# parley credentials: one [section] per identity. Keep this file private (mode 0600).",
        "# Format: AWS shared credentials, plus account_id (12 digits) which scopes resources.",
        "",
    ]
    for identity in identities:
        lines += [
            f"[{identity.name}]",
            f"{ACCESS_KEY_FIELD} = {identity.access_key_id}",
            f"{SECRET_KEY_FIELD} = {identity.secret_access_key}",
            f"{ACCOUNT_ID_FIELD} = {identity.account_id}",
            "",
        ]
    return "\n".join(lines)


def usage_text(identity: Identity, endpoint_url: str) -> str:
    """Copy-pasteable instructions for calling the server at ``endpoint_url`` as ``identity``."""
    ak, sk = identity.access_key_id, identity.secret_access_key
    endpoint_sh = shlex.quote(endpoint_url)
    return "\n".join(
        [
            f"Identity {identity.name!r} (account {identity.account_id}).",
            "",
            "Shell (AWS CLI and SDKs read these):",
            f"  export AWS_ACCESS_KEY_ID={shlex.quote(ak)}",
            f"  export AWS_SECRET_ACCESS_KEY={shlex.quote(sk)}",
            f"  export AWS_DEFAULT_REGION={DEFAULT_REGION}",
            "",
            "AWS CLI:",
            f"  aws chime-sdk-meetings create-meeting --endpoint-url {endpoint_sh} \\",
            f"      --client-request-token t1 --media-region {DEFAULT_REGION} --external-meeting-id demo",
            "",
            "Python (boto3):",
            "  import boto3",
            "  client = boto3.client(",
            '      "chime-sdk-meetings",',
            f"      endpoint_url={json.dumps(endpoint_url)},",
            f'      region_name="{DEFAULT_REGION}",',
            f"      aws_access_key_id={json.dumps(ak)},",
            f"      aws_secret_access_key={json.dumps(sk)},",
            "  )",
            f'  client.create_meeting(ClientRequestToken="t1", MediaRegion="{DEFAULT_REGION}", '
            'ExternalMeetingId="demo")',
            "",
        ]
    )
