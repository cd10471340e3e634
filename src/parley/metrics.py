"""Prometheus metrics of one server (``GET /metrics``), with ``prometheus-client``.

One ``Metrics`` per app, on its own registry rather than the library's process-global one: tests run several
servers in one process, and a node's figures must be its own. Counters and histograms are observed where the
event happens (the API endpoints, the speech pipeline, the bus, the database engine); gauges of live state
(meetings, connections, speech streams, the engine queue) are read from their owners when scraped, so they can
never drift from the truth. Every metric is listed in docs/operations.md "Metrics".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: API calls are fast (milliseconds); the upper buckets catch the database under load.
_API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Decodes run 20 ms (a short greedy partial on a GPU) to seconds (a beam-5 final on a busy CPU).
_DECODE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Commit latency and final lag: the issue's targets sit at 1-3 s.
_LAG_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

Gauges = Callable[[], Iterable[GaugeMetricFamily | CounterMetricFamily]]


class _LiveGauges(Collector):
    """Reads gauges from their owners at scrape time (see the module docstring)."""

    def __init__(self) -> None:
        self.sources: list[Gauges] = []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        for source in self.sources:
            yield from source()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.api_requests = Counter(
            "parley_api_requests",
            "API requests answered, by service (chime, transcribe, transcripts), operation and HTTP status",
            ["service", "operation", "status"],
            registry=r,
        )
        self.api_seconds = Histogram(
            "parley_api_request_seconds",
            "Time to answer an API request (body read to response), by service and operation",
            ["service", "operation"],
            buckets=_API_BUCKETS,
            registry=r,
        )
        self.api_throttled = Counter(
            "parley_api_throttled_requests",
            "API requests refused with ThrottlingException (429), by operation",
            ["service", "operation"],
            registry=r,
        )
        self.audio_seconds = Counter(
            "parley_audio_seconds",
            "Seconds of attendee audio fed to speech recognition",
            registry=r,
        )
        self.decode_seconds = Histogram(
            "parley_speech_decode_seconds",
            "Speech engine time per decode, by kind (partial, final)",
            ["kind"],
            buckets=_DECODE_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "parley_transcript_commit_latency_seconds",
            "From the end of a word in the audio to the result that first made it stable or final",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.final_lag_seconds = Histogram(
            "parley_transcript_final_lag_seconds",
            "From the end of an utterance's audio to its final result",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.bus_published = Counter(
            "parley_bus_published_messages",
            "Messages published on the event bus, by outcome (ok, error)",
            ["outcome"],
            registry=r,
        )
        self.bus_delivered = Counter(
            "parley_bus_delivered_messages", "Messages delivered to this node's bus subscriptions", registry=r
        )
        self.db_seconds = Histogram(
            "parley_db_statement_seconds",
            "Time of one SQL statement on the database driver",
            buckets=_DB_BUCKETS,
            registry=r,
        )
        self._gauges = _LiveGauges()
        r.register(self._gauges)

    def add_gauges(self, source: Gauges) -> None:
        """``source`` yields gauge families when scraped (live state owned elsewhere)."""
        self._gauges.sources.append(source)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe_api(self, service: str, operation: str, status: int, seconds: float) -> None:
        self.api_requests.labels(service, operation, str(status)).inc()
        self.api_seconds.labels(service, operation).observe(seconds)


def gauge(
    name: str,
    documentation: str,
    value: float | dict[tuple[str, ...], float],
    labels: tuple[str, ...] = (),
) -> GaugeMetricFamily:
    """A gauge family for ``Metrics.add_gauges`` sources: one value, or one per label-value tuple."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    samples = value if isinstance(value, dict) else {(): value}
    for label_values, v in samples.items():
        family.add_metric(list(label_values), v)
    return family


def counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    """A counter family for ``Metrics.add_gauges`` sources, for counts their owner keeps (exposed as ``_total``)."""
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family
