"""A signed-in session of parley's console API (the cookie and CSRF header the console page uses)."""

from __future__ import annotations

import httpx

from harness.server import IDENTITIES, ServerProcess

CSRF = {"X-Parley-Console": "1"}


def signed_in(server: ServerProcess, identity: str = "alice") -> httpx.Client:
    key, secret, _ = IDENTITIES[identity]
    client = httpx.Client(base_url=server.endpoint, headers=CSRF, timeout=10)
    response = client.post("/console/api/login", json={"accessKeyId": key, "secretAccessKey": secret})
    assert response.status_code == 200, response.text
    return client
