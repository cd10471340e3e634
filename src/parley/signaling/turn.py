"""TURN relay credentials for Chime SDK clients, handed out in JOIN_ACK (``turn_credentials``).

The SDK takes TURN only from JOIN_ACK (the old TurnControlUrl POST is gone from the SDK), and as soon as
``turn_credentials.uris`` is non-empty it creates its peer connection with ``iceTransportPolicy: 'relay'``:
every client of a server configured with TURN reaches parley's media through the relay (shared reference
chime-signaling.md §8.3). Without TURN the JOIN_ACK carries no credentials and clients use host candidates.

Credentials follow coturn's "TURN REST API" scheme (``use-auth-secret`` + ``static-auth-secret``): nothing is
shared with the TURN server per user; each credential is ``username = "<expiry unix time>:<attendee id>"``,
``password = base64(HMAC-SHA1(secret, username))``, which coturn recomputes and accepts until the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# A day: longer than most meetings, since coturn refuses to refresh an allocation once its credential expired.
DEFAULT_TTL_S = 86_400
TURN_SCHEMES = ("turn:", "turns:")


class TurnConfigError(ValueError):
    """TURN options that cannot work (a URI without a secret, a non-TURN URI, a bad TTL)."""


@dataclass(frozen=True)
class TurnSettings:
    """What ``--turn-uri``/``--turn-secret``/``--turn-ttl`` configure; empty means no TURN."""

    uris: tuple[str, ...] = ()
    secret: str | None = None
    ttl_s: int = DEFAULT_TTL_S

    @property
    def enabled(self) -> bool:
        return bool(self.uris)

    def validate(self) -> TurnSettings:
        """Fail at start-up rather than hand clients credentials coturn would reject."""
        if not self.uris and not self.secret:
            return self
        if not self.uris:
            raise TurnConfigError("a TURN secret was given but no --turn-uri")
        if not self.secret:
            raise TurnConfigError("--turn-uri needs --turn-secret (coturn's static-auth-secret)")
        for uri in self.uris:
            if not uri.startswith(TURN_SCHEMES) or len(uri.split(":", 1)[1]) == 0:
                raise TurnConfigError(f"not a turn: or turns: URI: {uri!r}")
        if self.ttl_s <= 0:
            raise TurnConfigError("the TURN credential TTL must be positive")
        return self


@dataclass(frozen=True)
class TurnCredentials:
    """One attendee's relay credentials, as they go into ``SdkTurnCredentials``."""

    username: str
    password: str
    ttl: int
    uris: tuple[str, ...]


def rest_api_credentials(secret: str, user: str, expiry: int) -> tuple[str, str]:
    """(username, password) of coturn's TURN REST API scheme for ``user`` valid until ``expiry`` (Unix s)."""
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


class TurnIssuer:
    """Mints credentials per JOIN; ``clock`` is injectable so tests can pin the expiry."""

    def __init__(self, settings: TurnSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings.validate()
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def issue(self, attendee_id: str) -> TurnCredentials | None:
        """Credentials for ``attendee_id`` (its id in the username shows up in coturn's logs), or None."""
        settings = self.settings
        if not settings.enabled or settings.secret is None:
            return None
        expiry = int(self._clock()) + settings.ttl_s
        username, password = rest_api_credentials(settings.secret, attendee_id, expiry)
        return TurnCredentials(username=username, password=password, ttl=settings.ttl_s, uris=settings.uris)


def parse_uris(values: Sequence[str]) -> tuple[str, ...]:
    """URIs from repeated options and/or comma- or space-separated lists (``PARLEY_TURN_URIS``)."""
    uris: list[str] = []
    for value in values:
        uris += [part for part in value.replace(",", " ").split() if part]
    return tuple(dict.fromkeys(uris))
