"""A meeting's stored transcript as the export API gives it (a presigned GET of JSON lines), for assertions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from botocore.credentials import Credentials

from harness.server import IDENTITIES
from parley.client import presign_transcript_url


async def exported_results(endpoint: str, meeting_id: str, identity: str = "alice") -> list[dict[str, Any]]:
    """Every stored final result of the meeting, in order (asserts the export answers 200)."""
    key, secret, _account = IDENTITIES[identity]
    url = presign_transcript_url(endpoint, meeting_id, Credentials(key, secret), fmt="jsonl")
    exported = await asyncio.to_thread(httpx.get, url, timeout=10)
    assert exported.status_code == 200, exported.text
    return [
        r for line in exported.text.splitlines() if line for r in json.loads(line)["transcript"]["results"]
    ]
