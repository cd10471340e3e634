"""Presigned URLs (SigV4 query auth, service ``chime``) for parley's event socket and transcript export.

botocore's ``SigV4QueryAuth`` does the signing, so the server verifies exactly what the AWS SDKs produce.
"""

from __future__ import annotations

from urllib.parse import urlencode

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def _presign(url: str, credentials: Credentials, region: str, expires: int) -> str:
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(credentials, "chime", region, expires=expires).add_auth(request)
    return str(request.url)


def presign_events_url(
    endpoint: str,
    meeting_id: str,
    credentials: Credentials,
    region: str = "us-east-1",
    *,
    protobuf: bool = False,
    expires: int = 300,
) -> str:
    """A ``ws://``/``wss://`` URL for ``/meetings/<id>/events``, valid for ``expires`` seconds."""
    query = "?" + urlencode({"format": "protobuf"}) if protobuf else ""
    signed = _presign(
        f"{endpoint.rstrip('/')}/meetings/{meeting_id}/events{query}", credentials, region, expires
    )
    return "ws" + signed[4:] if signed.startswith("http") else signed


def presign_transcript_url(
    endpoint: str,
    meeting_id: str,
    credentials: Credentials,
    fmt: str = "vtt",
    region: str = "us-east-1",
    expires: int = 300,
) -> str:
    """An ``http(s)://`` URL a browser can open to download the transcript."""
    url = f"{endpoint.rstrip('/')}/meetings/{meeting_id}/transcript?{urlencode({'format': fmt})}"
    return _presign(url, credentials, region, expires)
