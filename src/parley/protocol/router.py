"""Route an HTTP request to a modeled operation by method, URI template and required query literals.

The model's ``requestUri`` values (e.g. ``/meetings/{MeetingId}/attendees?operation=batch-create``)
are compiled once; a route with more literal query arguments wins, so
``POST /meetings?operation=create-attendees`` is CreateMeetingWithAttendees, not CreateMeeting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, ServiceModel

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    required_query: tuple[tuple[str, str | None], ...]
    literal_length: int


@dataclass(frozen=True)
class RouteMatch:
    operation: OperationModel
    path_params: dict[str, str]


def _compile(operation: OperationModel) -> Route:
    http = operation.http
    uri: str = http["requestUri"]
    path, _, query = uri.partition("?")
    labels: list[str] = []
    regex = ["^"]
    pos = 0
    literal_length = 0
    for m in _LABEL.finditer(path):
        literal = path[pos : m.start()]
        regex.append(re.escape(literal))
        literal_length += len(literal)
        name = m.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        labels.append(name)
        regex.append(f"(?P<{_group(name)}>{'.+' if greedy else '[^/]+'})")
        pos = m.end()
    regex.append(re.escape(path[pos:]))
    literal_length += len(path) - pos
    regex.append("$")
    required: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        required.append((key, value if eq else None))
    return Route(
        operation=operation,
        method=http["method"].upper(),
        pattern=re.compile("".join(regex)),
        labels=tuple(labels),
        required_query=tuple(required),
        literal_length=literal_length,
    )


def _group(label: str) -> str:
    return "L_" + re.sub(r"\W", "_", label)


def parse_query(raw_query: str) -> dict[str, list[str]]:
    """Query string → multi-dict, percent-decoded (``+`` is not a space in AWS query strings)."""
    result: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query.replace("+", "%2B"), keep_blank_values=True):
        result.setdefault(key, []).append(value)
    return result


class Router:
    def __init__(self, service: ServiceModel) -> None:
        routes = [_compile(service.operation_model(name)) for name in service.operation_names]
        # Most specific first: more required query literals, then longer literal paths.
        routes.sort(key=lambda r: (len(r.required_query), r.literal_length), reverse=True)
        self._routes: Sequence[Route] = routes

    @property
    def routes(self) -> Sequence[Route]:
        return self._routes

    def match(self, method: str, raw_path: str, query: Mapping[str, list[str]]) -> RouteMatch | None:
        method = method.upper()
        for route in self._routes:
            if route.method != method:
                continue
            m = route.pattern.match(raw_path)
            if m is None:
                continue
            if not all(
                key in query and (value is None or value in query[key]) for key, value in route.required_query
            ):
                continue
            params = {label: unquote(m.group(_group(label))) for label in route.labels}
            return RouteMatch(route.operation, params)
        return None
