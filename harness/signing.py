"""Raw HTTP requests signed as the AWS SDKs sign them (SigV4), for calls no SDK models: malformed bodies,
parley's transcript API, fuzzed requests."""

from __future__ import annotations

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.server import IDENTITIES


def signed_request(
    endpoint: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    service: str = "chime",
    identity: str = "alice",
    client: httpx.Client | None = None,
) -> httpx.Response:
    """``path`` may carry a query string; it is signed exactly as sent."""
    key, secret, _ = IDENTITIES[identity]
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers or {})
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    send = client.request if client is not None else httpx.request
    kwargs = {} if client is not None else {"timeout": 10}
    return send(method, prepared.url, headers=dict(prepared.headers), content=body, **kwargs)
