"""The one exception the domain raises: an AWS error *code* and a message.

Why codes only: the HTTP status, headers and body shape of every error come from the
service model in the protocol layer, so the domain never hard-codes wire details.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An AWS error named by its modeled shape (e.g. ``NotFoundException``).

    ``fields`` carries extra modeled members (e.g. ``RetryAfterSeconds``) for shapes that have them.
    """

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields


def bad_request(message: str) -> ServiceError:
    return ServiceError("BadRequestException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("NotFoundException", message)
