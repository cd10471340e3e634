"""Micro-benchmark: SigV4 verifications per second on one core (``python bench/sigv4.py``).

The server budget is >= 1,500 signed GetMeeting/s on 2 cores for *everything*; verification
should be a small fraction of that, so this prints how many it alone sustains.
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from parley.auth import SigV4Verifier
from parley.credentials import CredentialStore, generate_identity

Wire = tuple[str, str, str, list[tuple[str, str]], bytes]


def signed(method: str, url: str, body: bytes, key: str, secret: str) -> Wire:
    request = AWSRequest(method=method, url=url, data=body)
    if body:
        request.headers["Content-Type"] = "application/x-amz-json-1.1"
    SigV4Auth(Credentials(key, secret), "chime", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    headers += [
        ("Host", parts.netloc),
        ("User-Agent", "Boto3/1.35 md/Botocore#1.35 ua/2.0 os/linux lang/python#3.11"),
        ("Accept-Encoding", "identity"),
        ("amz-sdk-invocation-id", "3e4ab406-9725-418b-8ee1-5e23dbaefe72"),
        ("amz-sdk-request", "attempt=1; max=3"),
    ]
    return prepared.method, parts.path, parts.query, headers, body


def rate(verifier: SigV4Verifier, wire: Wire, seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            verifier.verify(*wire)
        count += 200
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    identities = [generate_identity(f"id{i}") for i in range(50)]
    store = CredentialStore(identities)
    verifier = SigV4Verifier(store)
    ident = identities[7]
    cases = {
        "GetMeeting (GET, no body)": signed(
            "GET",
            "http://127.0.0.1:8000/meetings/8f6b3f8e-1b7e-4a5e-9a8c-0f3c2e4d5a6b",
            b"",
            ident.access_key_id,
            ident.secret_access_key,
        ),
        "ListAttendees (GET, query)": signed(
            "GET",
            "http://127.0.0.1:8000/meetings/8f6b3f8e-1b7e-4a5e-9a8c-0f3c2e4d5a6b/attendees"
            "?max-results=10&next-token=a%2Bb%2Fc%3D%3D",
            b"",
            ident.access_key_id,
            ident.secret_access_key,
        ),
        "CreateMeeting (POST, 200 B JSON)": signed(
            "POST",
            "http://127.0.0.1:8000/meetings",
            b'{"ClientRequestToken":"t1","ExternalMeetingId":"demo","MediaRegion":"us-east-1",'
            b'"MeetingFeatures":{"Audio":{"EchoReduction":"AVAILABLE"}},"Tags":[{"Key":"k","Value":"v"}]}',
            ident.access_key_id,
            ident.secret_access_key,
        ),
    }
    for name, wire in cases.items():
        print(f"{name:34s} {rate(verifier, wire, args.seconds):>10,.0f} verifications/s (1 core)")


if __name__ == "__main__":
    main()
