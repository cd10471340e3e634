"""Runtime settings, built from the command line (``parley serve``) or by tests.

A leaf: the settings of every part live here and the parts import them, so a CLI command that only needs its
options never pays for importing the server (SQLAlchemy, the speech stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

from parley.signaling.turn import TurnSettings


@dataclass(frozen=True)
class Limits:
    max_active_meetings: int = 250
    max_attendees: int = 250
    max_transcriptions: int = 250


@dataclass(frozen=True)
class LiveSettings:
    idle_timeout_s: float = 300.0  # Chime: no attendee connected for five continuous minutes
    max_duration_s: float = 86400.0  # Chime: 24 hours after creation
    reap_interval_s: float = 15.0
    heartbeat_s: float = 30.0
    presence_ttl_s: float = 90.0  # a connection whose node has not heartbeated for this long is gone
    ack_timeout_s: float = 15.0
    interrupt_after_s: float = 8.0  # final results waiting this long → `interrupted`
    resume_below_s: float = 2.0
    # Nodes say they are alive on the bus this often; one not heard for node_timeout_s (while the bus is up) is
    # taken for dead: its meetings' participants elsewhere hear `interrupted` until its speakers are back.
    node_heartbeat_s: float = 2.0
    node_timeout_s: float = 6.0


@dataclass(frozen=True)
class SpeechSettings:
    model_path: Path | None = None  # any local CTranslate2 Whisper directory; default: the bundled model
    device: str = "cpu"
    compute_type: str | None = None
    cpu_threads: int = 0
    workers: int = 0  # concurrent decodes; 0: one single-threaded worker per core (up to 4), one on a GPU
    preload: bool = True  # load at start-up; False loads on the first transcription (tests, API-only use)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=lambda: Path(".parley"))
    credentials_file: Path | None = None
    database_url: str | None = None
    public_url: str | None = None
    # Base URL put into the MediaPlacement of meetings created here (in a cluster, the balancer's); MeetingService.
    media_url: str | None = None
    # Where the other nodes of a cluster reach this one, to forward a meeting's signaling sockets to the node
    # hosting its room (signaling/hosting.py); default: this server's own http://host:port.
    node_url: str | None = None
    sqlite_synchronous: str = "NORMAL"
    max_body_bytes: int = 1 << 20
    # Connection limits (docs/operations.md "Limits"): request headers must arrive within header_timeout_s,
    # a body within body_timeout_s; one client address may hold max_connections_per_address connections.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_connections_per_address: int = 64
    # Load balancers and the other nodes: their connections are not held to the per-address limits.
    trusted_addresses: tuple[IPv4Network | IPv6Network, ...] = ()
    new_connections_per_second: float = 50.0  # per address, sustained; bursts of four times that
    # An attendee's audio may run audio_burst_s ahead of real time, then max_audio_speed × real time (ws/audio.py).
    max_audio_speed: float = 2.0
    audio_burst_s: float = 30.0
    limits: Limits = field(default_factory=Limits)
    redis_url: str | None = None
    # API throttling per account and operation (D37): AWS's documented 10 requests/s, bursts of 20; 0 = off.
    api_rate: float = 10.0
    api_burst: float = 20.0
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    # How long a transcript outlives its meeting: None keeps it until its owner deletes it, 0 deletes it with
    # the meeting (docs/decisions.md "Transcripts outlive their meetings").
    transcript_retention_s: float | None = None
    max_audio_frame_bytes: int = 256 * 1024
    # The only ICE host address offered to Chime SDK clients (None: every non-loopback address, aioice's
    # default). ``127.0.0.1`` lets a browser on the same loopback-only host connect.
    media_address: str | None = None
    # Cameras forwarded per meeting (Chime's limit is 25 video tiles); more are received but not listed in INDEX.
    max_video_sources: int = 25
    # Remote videos per Chime SDK client, told in JOIN_ACK; 0 leaves the SDK's own limit (25).
    video_subscription_limit: int = 0
    # TURN relay credentials put into JOIN_ACK (--turn-uri/--turn-secret); empty: clients use host candidates.
    turn: TurnSettings = field(default_factory=TurnSettings)

    @property
    def credentials_path(self) -> Path:
        return self.credentials_file or self.data_dir / "credentials"

    @property
    def default_endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"
