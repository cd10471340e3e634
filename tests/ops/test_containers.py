"""The container files, checked as far as a machine without a Docker engine allows (docs/operations.md
"Containers"): the image's settings are real `parley serve` variables, its health check is /readyz, and the
Compose stack wires two nodes to PostgreSQL, Redis, coturn and a proxy. The topology itself is exercised with
processes by tests/live/test_two_nodes.py and tests/ops (private PostgreSQL/Redis)."""

from __future__ import annotations

import argparse
import re

import yaml

from parley import cli
from tests.conftest import repo_root


def serve_variables() -> set[str]:
    parser = argparse.ArgumentParser()
    cli._serve_options(parser, {})
    return {m for a in parser._actions for m in re.findall(r"\[env: (PARLEY_\w+)\]", a.help or "")}


def test_the_image_sets_only_real_variables_and_checks_readiness() -> None:
    text = (repo_root() / "Dockerfile").read_text()
    known = serve_variables()
    used = set(re.findall(r"\b(PARLEY_\w+)=", text))
    assert used
    assert used <= known, used - known
    assert "USER parley" in text
    assert "/readyz" in text.split("HEALTHCHECK", 1)[1]
    assert 'ENTRYPOINT ["parley", "serve"]' in text


def test_compose_runs_two_nodes_on_postgres_redis_coturn_behind_a_proxy() -> None:
    stack = yaml.safe_load((repo_root() / "compose.yaml").read_text())
    services = stack["services"]
    assert {"parley-1", "parley-2", "postgres", "redis", "coturn", "proxy"} <= set(services)
    known = serve_variables()
    for name in ("parley-1", "parley-2"):
        env = services[name]["environment"]
        assert set(env) <= known | {f"{v}_FILE" for v in known}, set(env)
        assert env["PARLEY_DATABASE_URL"].startswith("postgresql://")
        assert env["PARLEY_REDIS_URL"].startswith("redis://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Media goes through the proxy like the API (any node takes any meeting's sockets); each node tells the other
    # where to forward a meeting's Chime SDK signaling when it hosts the room (D42).
    one, two = (services[name]["environment"] for name in ("parley-1", "parley-2"))
    assert one["PARLEY_MEDIA_URL"] == two["PARLEY_MEDIA_URL"] == one["PARLEY_PUBLIC_URL"]
    assert (one["PARLEY_NODE_URL"], two["PARLEY_NODE_URL"]) == (
        "http://parley-1:8000",
        "http://parley-2:8000",
    )
    # Caddy and the other node connect from the stack's network: not one client to the per-address limits.
    [subnet] = [c["subnet"] for c in stack["networks"]["default"]["ipam"]["config"]]
    assert one["PARLEY_TRUSTED_ADDRESSES"] == two["PARLEY_TRUSTED_ADDRESSES"] == subnet
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    caddyfile = (repo_root() / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy parley-1:8000 parley-2:8000" in caddyfile
    assert "health_uri /healthz" in caddyfile
