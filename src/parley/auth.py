"""AWS Signature Version 4 verification, byte-for-byte compatible with botocore's signer.

The server never signs anything; it recomputes the signature a client made with
``botocore.auth.SigV4Auth`` (header auth) or ``SigV4QueryAuth`` (presigned URLs) from the request
exactly as it arrived on the wire, and compares. Everything here is framework-free so the HTTP and
WebSocket layers can share it, and stdlib-only so it stays cheap on the hot path.

Canonicalisation choices, each matching what botocore (and the JS SDK v3) produce:

* Canonical URI: ``quote(remove_dot_segments(raw_path), safe="/~")``. The path is the
  *already percent-encoded* wire path, so ``%2F`` becomes ``%252F``: non-S3 services double-encode.
* Canonical query: every ``k=v`` pair percent-decoded then re-encoded with RFC 3986 unreserved
  characters left alone, sorted by (key, value). botocore encodes that way already, so this is
  identical for SDK requests and tolerant of clients that encode differently (``%7e`` vs ``~``).
* Canonical headers: only those named in ``SignedHeaders``; values trimmed with inner whitespace
  collapsed; repeated headers joined with ``,``.
* Payload hash: SHA-256 of the body received. ``UNSIGNED-PAYLOAD`` is refused: botocore signs
  chime payloads whenever the operation does not opt out, and none does. Presigned URLs are
  signed by ``SigV4QueryAuth`` over an empty body (it moves any body into the query), i.e. the
  hash of ``b""`` -- not ``UNSIGNED-PAYLOAD``, which only the S3 presigners use.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_tz
from urllib.parse import quote, unquote_to_bytes

from parley.credentials import CredentialStore, Identity

__all__ = ["ALGORITHM", "AuthError", "SigV4Verifier", "VerifiedRequest"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600  # the SigV4 limit for presigned URLs

_AMZ_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_SCOPE_DATE_RE = re.compile(r"\d{8}")
_SIGNING_KEY_CACHE_SIZE = 1024

_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)

# Messages mirror what AWS's front door returns for non-S3 JSON services.
MSG_MISSING_TOKEN = "Missing Authentication Token"
MSG_UNRECOGNIZED = "The security token included in the request is invalid."
MSG_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_QUERY_PARAMS = (
    "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
    "'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters."
)


class AuthError(Exception):
    """A request failed authentication; ``code`` is the AWS error type the HTTP layer returns (403)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed the request, and for which region/service scope."""

    identity: Identity
    region: str
    service: str
    presigned: bool = False


def _incomplete(message: str) -> AuthError:
    return AuthError("IncompleteSignatureException", message)


def _invalid(message: str) -> AuthError:
    return AuthError("InvalidSignatureException", message)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(f"AWS4{secret}".encode(), date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def _format_amz_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _parse_amz_date(value: str) -> float | None:
    match = _AMZ_DATE_RE.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def _canonical_uri(raw_path: str) -> str:
    """botocore's ``quote(normalize_url_path(path), safe='/~')`` applied to the wire path.

    ``raw_path`` is expected as the wire bytes decoded with latin-1 (ASGI
    ``scope["raw_path"].decode("latin-1")``), so encoding back to latin-1 recovers those bytes;
    SDKs only ever send ASCII paths, for which every decoding agrees.
    """
    if not raw_path:
        return "/"
    segments: list[str] = []
    if "//" in raw_path or "/." in raw_path:
        for segment in raw_path.split("/"):
            if not segment or segment == ".":
                continue
            if segment == "..":
                if segments:
                    segments.pop()
            else:
                segments.append(segment)
        path = ("/" if raw_path[0] == "/" else "") + "/".join(segments)
        if raw_path[-1] == "/" and segments:
            path += "/"
    else:
        path = raw_path
    return quote(_wire_bytes(path), safe="/~")


def _wire_bytes(text: str) -> bytes:
    """Recover the bytes of a latin-1-decoded request-target component (ASGI's raw form)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _encode_query_part(part: str) -> str:
    if "%" not in part and part.isascii():
        # Fast path (every SDK request): nothing to decode, and ASCII encodes the same either way.
        return quote(part, safe="-_.~")
    return quote(unquote_to_bytes(_wire_bytes(part)), safe="-_.~")


def _split_query(raw_query: str) -> list[tuple[str, str]]:
    """Raw ``(key, value)`` pairs in wire order, still percent-encoded."""
    if not raw_query:
        return []
    pairs = []
    for item in raw_query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((key, value))
    return pairs


def _canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((_encode_query_part(k), _encode_query_part(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _decode(part: str) -> str:
    return unquote_to_bytes(part).decode("utf-8", "replace") if "%" in part else part


class SigV4Verifier:
    """Verifies SigV4-signed requests (header or presigned) against a ``CredentialStore``.

    Derived signing keys are cached per (secret, date, region, service): deriving one costs four
    HMACs, a quarter of the work of a whole verification, and a client reuses it all day.
    """

    def __init__(
        self,
        store: CredentialStore,
        services: Iterable[str] = ("chime",),
        max_skew_s: int = 900,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._services = frozenset(services)
        if not self._services:
            raise ValueError("services must name at least one signing name")
        self._service_hint = sorted(self._services)[0]
        self._max_skew_s = max_skew_s
        self._clock = clock
        self._signing_key = functools.lru_cache(maxsize=_SIGNING_KEY_CACHE_SIZE)(_derive_signing_key)

    # -- public --------------------------------------------------------------------------------

    def verify(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> VerifiedRequest:
        """Authenticate one request or raise ``AuthError``.

        ``raw_path``/``raw_query`` are the request target as received (still percent-encoded,
        query without ``?``); ``headers`` are all received headers, any case, repeats allowed.
        """
        header_map: dict[str, list[str]] = {}
        for name, value in headers:
            header_map.setdefault(name.lower(), []).append(value)
        pairs = _split_query(raw_query)
        presign_params = self._query_auth_params(pairs)
        # A blank Authorization header is treated like none (AWS answers "Missing Authentication Token").
        authorization = [value for value in header_map.get("authorization", ()) if value.strip()]
        if presign_params:
            if authorization:
                raise _incomplete(
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                    "or the Authorization header should be specified"
                )
            return self._verify_presigned(method, raw_path, pairs, presign_params, header_map, body)
        if not authorization:
            raise AuthError("MissingAuthenticationTokenException", MSG_MISSING_TOKEN)
        if len(authorization) > 1:
            raise _incomplete("Only one Authorization header is allowed.")
        return self._verify_header(method, raw_path, pairs, authorization[0], header_map, body)

    # -- header auth ---------------------------------------------------------------------------

    def _verify_header(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        authorization: str,
        header_map: dict[str, list[str]],
        body: bytes,
    ) -> VerifiedRequest:
        algorithm, fields = self._parse_authorization(authorization)
        credential = fields.get("Credential")
        signed_headers = fields.get("SignedHeaders")
        signature = fields.get("Signature")
        amz_date = _single(header_map, "x-amz-date")
        http_date = None if amz_date is not None else _single(header_map, "date")
        missing = []
        if credential is None:
            missing.append("Authorization header requires 'Credential' parameter.")
        if signature is None:
            missing.append("Authorization header requires 'Signature' parameter.")
        if signed_headers is None:
            missing.append("Authorization header requires 'SignedHeaders' parameter.")
        if amz_date is None and http_date is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        if missing or credential is None or signature is None or signed_headers is None:
            raise _incomplete(" ".join(missing) + f" Authorization={algorithm}")
        if algorithm != ALGORITHM:
            raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'")

        if amz_date is not None:
            timestamp = _parse_amz_date(amz_date)
            if timestamp is None:
                raise _incomplete(
                    f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601"
                )
            amz_timestamp = amz_date
        else:
            assert http_date is not None
            parsed = parsedate_tz(http_date)
            if parsed is None:
                raise _incomplete(f"Date header is not a valid HTTP date: '{http_date}'")
            timestamp = float(calendar.timegm(parsed[:9]) - (parsed[9] or 0))
            # botocore signs the ISO-8601 form of the Date header's instant.
            amz_timestamp = _format_amz_date(timestamp)

        access_key, scope_date, region, service = self._parse_credential(credential, amz_timestamp)
        identity = self._store.lookup(access_key)
        if identity is None:
            raise AuthError("UnrecognizedClientException", MSG_UNRECOGNIZED)
        self._check_skew(amz_timestamp, timestamp)
        signed_names = self._parse_signed_headers(signed_headers)
        payload_hash = self._payload_hash(header_map, body)

        canonical_request = "\n".join(
            (
                method.upper(),
                _canonical_uri(raw_path),
                _canonical_query(pairs),
                _canonical_headers(signed_names, header_map),
                signed_headers,
                payload_hash,
            )
        )
        self._check_signature(
            canonical_request, amz_timestamp, identity, scope_date, region, service, signature
        )
        return VerifiedRequest(identity=identity, region=region, service=service)

    @staticmethod
    def _parse_authorization(authorization: str) -> tuple[str, dict[str, str]]:
        algorithm, _, rest = authorization.strip().partition(" ")
        fields: dict[str, str] = {}
        for part in rest.split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, value = part.partition("=")
            if not eq:
                raise _incomplete(
                    f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                    f"'{authorization}'."
                )
            fields[key.strip()] = value.strip()
        return algorithm, fields

    # -- presigned (query) auth ---------------------------------------------------------------

    @staticmethod
    def _query_auth_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
        params: dict[str, str] = {}
        for key, value in pairs:
            if key.startswith(("X-Amz-", "X-AMZ-", "x-amz-", "X%2DAmz")):
                name = _decode(key)
                if name in _QUERY_AUTH_PARAMS or name == "X-Amz-Expires":
                    params.setdefault(name, _decode(value))
        if not any(name in params for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")):
            return {}
        return params

    def _verify_presigned(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        params: dict[str, str],
        header_map: dict[str, list[str]],
        body: bytes,
    ) -> VerifiedRequest:
        if any(name not in params for name in _QUERY_AUTH_PARAMS):
            raise _incomplete(MSG_QUERY_PARAMS)
        if params["X-Amz-Algorithm"] != ALGORITHM:
            raise _incomplete(f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm']}'")
        amz_date = params["X-Amz-Date"]
        timestamp = _parse_amz_date(amz_date)
        if timestamp is None:
            raise _incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            )
        expires_text = params.get("X-Amz-Expires")
        if expires_text is None:
            raise _incomplete("AWS query-string parameters must include 'X-Amz-Expires' for presigned URLs.")
        if not expires_text.isdigit():
            raise _incomplete(f"X-Amz-Expires must be a non-negative integer, got '{expires_text}'.")
        expires = int(expires_text)
        if expires > MAX_PRESIGN_EXPIRES_S:
            raise _incomplete(
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES_S}"
            )

        access_key, scope_date, region, service = self._parse_credential(params["X-Amz-Credential"], amz_date)
        identity = self._store.lookup(access_key)
        if identity is None:
            raise AuthError("UnrecognizedClientException", MSG_UNRECOGNIZED)

        now = self._clock()
        if timestamp - now > self._max_skew_s:
            raise _invalid(self._not_yet_current(amz_date, now))
        if now > timestamp + expires:
            # AWS answers an expired presigned URL for non-S3 services with a signature error
            # ("Signature expired: ..."), not S3's AccessDenied "Request has expired"; we keep
            # that code and phrase it like the header-auth skew message.
            raise _invalid(
                f"Signature expired: {amz_date} is now earlier than {_format_amz_date(now - expires)} "
                f"({_format_amz_date(now)} - {expires} sec.)"
            )

        signed_headers = params["X-Amz-SignedHeaders"]
        signed_names = self._parse_signed_headers(signed_headers)
        payload_hash = self._payload_hash(header_map, body)
        canonical_request = "\n".join(
            (
                method.upper(),
                _canonical_uri(raw_path),
                _canonical_query((k, v) for k, v in pairs if _decode(k) != "X-Amz-Signature"),
                _canonical_headers(signed_names, header_map),
                signed_headers,
                payload_hash,
            )
        )
        self._check_signature(
            canonical_request, amz_date, identity, scope_date, region, service, params["X-Amz-Signature"]
        )
        return VerifiedRequest(identity=identity, region=region, service=service, presigned=True)

    # -- shared steps ----------------------------------------------------------------------------

    def _parse_credential(self, credential: str, amz_timestamp: str) -> tuple[str, str, str, str]:
        parts = credential.split("/")
        if len(parts) != 5:
            raise _incomplete(
                "Credential must have exactly 5 slash-delimited elements, "
                f"e.g. keyid/date/region/service/term, got '{credential}'"
            )
        access_key, scope_date, region, service, terminator = parts
        if not access_key:
            raise _incomplete("Credential must contain an access key id.")
        if not _SCOPE_DATE_RE.fullmatch(scope_date):
            raise _incomplete(f"Credential date must be in 'yyyyMMdd' format, got '{scope_date}'.")
        if not region:
            raise _incomplete("Credential should be scoped to a valid region. ")
        if terminator != TERMINATOR:
            raise _incomplete(
                f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
            )
        if service not in self._services:
            # AWS reports a well-formed scope for another service as a signature error.
            raise _invalid(f"Credential should be scoped to correct service: '{self._service_hint}'. ")
        if scope_date != amz_timestamp[:8]:
            raise _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                f"HTTP: '{scope_date}' != '{amz_timestamp[:8]}', from '{amz_timestamp}'."
            )
        return access_key, scope_date, region, service

    @staticmethod
    def _parse_signed_headers(signed_headers: str) -> list[str]:
        names = [name.strip().lower() for name in signed_headers.split(";")]
        if "host" not in names:
            raise _incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        return names

    @staticmethod
    def _payload_hash(header_map: dict[str, list[str]], body: bytes) -> str:
        actual = hashlib.sha256(body).hexdigest()
        declared = header_map.get("x-amz-content-sha256")
        if declared is not None:
            value = declared[0].strip()
            if value == UNSIGNED_PAYLOAD:
                raise _invalid("UNSIGNED-PAYLOAD is not supported by this service; sign the payload.")
            if len(declared) > 1 or value != actual:
                raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
        return actual

    def _check_skew(self, amz_timestamp: str, timestamp: float) -> None:
        now = self._clock()
        if now - timestamp > self._max_skew_s:
            raise _invalid(
                f"Signature expired: {amz_timestamp} is now earlier than "
                f"{_format_amz_date(now - self._max_skew_s)} ({_format_amz_date(now)} - {self._skew_text()})"
            )
        if timestamp - now > self._max_skew_s:
            raise _invalid(self._not_yet_current(amz_timestamp, now))

    def _not_yet_current(self, amz_timestamp: str, now: float) -> str:
        return (
            f"Signature not yet current: {amz_timestamp} is still later than "
            f"{_format_amz_date(now + self._max_skew_s)} ({_format_amz_date(now)} + {self._skew_text()})"
        )

    def _skew_text(self) -> str:
        if self._max_skew_s % 60 == 0:
            return f"{self._max_skew_s // 60} min."
        return f"{self._max_skew_s} sec."

    def _check_signature(
        self,
        canonical_request: str,
        amz_timestamp: str,
        identity: Identity,
        scope_date: str,
        region: str,
        service: str,
        provided: str,
    ) -> None:
        string_to_sign = (
            f"{ALGORITHM}\n{amz_timestamp}\n{scope_date}/{region}/{service}/{TERMINATOR}\n"
            + hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
        )
        key = self._signing_key(identity.secret_access_key, scope_date, region, service)
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8", "replace")):
            raise _invalid(MSG_BAD_SIGNATURE)


def _single(header_map: dict[str, list[str]], name: str) -> str | None:
    values = header_map.get(name)
    return values[0].strip() if values else None


def _canonical_headers(signed_names: list[str], header_map: dict[str, list[str]]) -> str:
    lines = []
    for name in signed_names:
        values = header_map.get(name, ())
        lines.append(name + ":" + ",".join(" ".join(v.split()) for v in values))
    return "\n".join(lines) + "\n"
