"""``parley join`` end to end with the real speech model: the CLI alone creates the meeting and attendee,
starts transcription, streams a file (FLAC, and the same speech re-encoded as 44.1 kHz stereo WAV and as
48 kHz Opus in Ogg, to prove "any format PyAV reads"), prints live captions, and exports the transcript."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, json_out

pytestmark = pytest.mark.model

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech" / "en_us_budget.flac"
EXPECTED = {"budget", "thursday"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def convert(src: Path, dst: Path, codec: str, rate: int, layout: str) -> Path:
    """Re-encode ``src`` with PyAV (through a FIFO, since Opus wants fixed-size frames)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        fifo = av.AudioFifo()
        size = stream.codec_context.frame_size or 1024

        def drain(final: bool = False) -> None:
            while fifo.samples >= size or (final and fifo.samples):
                for packet in stream.encode(fifo.read(min(size, fifo.samples))):
                    out.mux(packet)

        for frame in inp.decode(audio=0):
            for resampled in resampler.resample(frame):
                fifo.write(resampled)
            drain()
        for resampled in resampler.resample(None):
            fifo.write(resampled)
        drain(final=True)
        for packet in stream.encode(None):
            out.mux(packet)
    return dst


def new_meeting(cli: Cli, name: str) -> str:
    meeting_id = json_out(cli.run("meeting", "create", "--external-id", name))["Meeting"]["MeetingId"]  # type: ignore[index]
    assert isinstance(meeting_id, str)
    cli.run("transcription", "start", meeting_id, "--language", "en-US", "--stabilization", "high")
    return meeting_id


def run_on_tty(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Run ``parley`` with stdout on a pseudo-terminal (100 columns), as a person would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", *args],
        env=cli.env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return proc.wait(60), b"".join(chunks).decode(errors="replace"), err


def test_join_realtime_plain_output_then_export(model_cli: Cli, tmp_path: Path) -> None:
    cli = model_cli
    mid = new_meeting(cli, "cli-join")
    cli.run("attendee", "create", mid, "--external-user-id", "Sam Speaker")

    joined = cli.run("join", mid, "--attendee", "Sam Speaker", "--audio", str(SPEECH))
    lines = joined.stdout.splitlines()
    assert lines, joined.stderr
    assert all(line.startswith("Sam Speaker: ") for line in lines), lines  # finals only, one line each
    assert "\x1b" not in joined.stdout
    assert words(joined.stdout) >= EXPECTED
    assert "transcription started" in joined.stderr

    cli.run("transcription", "stop", mid)

    vtt = cli.run("transcript", "get", mid, "--format", "vtt").stdout
    assert vtt.startswith("WEBVTT")
    assert "<v Sam Speaker>" in vtt
    assert words(vtt) >= EXPECTED

    srt_path = tmp_path / "out.srt"
    cli.run("transcript", "get", mid, "--format", "srt", "-o", str(srt_path))
    srt = srt_path.read_text()
    assert srt.startswith("1\n")
    assert "Sam Speaker: " in srt
    assert words(srt) >= EXPECTED

    rows = [
        json.loads(line) for line in cli.run("transcript", "get", mid, "--format", "json").stdout.splitlines()
    ]
    assert rows
    results = [r for row in rows for r in row["transcript"]["results"]]
    assert not any(r["isPartial"] for r in results)
    assert words(" ".join(r["alternatives"][0]["transcript"] for r in results)) >= EXPECTED


def test_join_fast_any_format_by_attendee_id(model_cli: Cli, tmp_path: Path) -> None:
    cli = model_cli
    mid = new_meeting(cli, "cli-join-fast")
    attendee = json_out(cli.run("attendee", "create", mid, "--external-user-id", "lee"))["Attendee"]
    assert isinstance(attendee, dict)

    # 48 kHz stereo Opus in Ogg, joined by AttendeeId, output piped.
    ogg = convert(SPEECH, tmp_path / "speech.ogg", "libopus", 48000, "stereo")
    joined = cli.run("join", mid, "--attendee", attendee["AttendeeId"], "--audio", str(ogg), "--fast")
    assert words(joined.stdout) >= EXPECTED, joined.stderr
    assert all(line.startswith("lee: ") for line in joined.stdout.splitlines())

    # 44.1 kHz stereo WAV on a terminal: partials in place, finals settled, a progress bar, banners.
    wav = convert(SPEECH, tmp_path / "speech.wav", "pcm_s16le", 44100, "stereo")
    rc, shown, err = run_on_tty(cli, "join", mid, "--attendee", "lee", "--audio", str(wav), "--fast")
    assert rc == 0, err
    plain = _ANSI.sub("", shown)
    assert "transcription started" in plain
    assert "left the meeting" in plain
    assert re.search(r"\] lee: .*[Bb]udget", plain), plain
    assert "100%" in plain

    finals = json.loads(
        "[" + ",".join(cli.run("transcript", "get", mid, "--format", "json").stdout.splitlines()) + "]"
    )
    speakers = {
        item["attendee"]["attendeeId"]
        for row in finals
        for r in row["transcript"]["results"]
        for item in r["alternatives"][0]["items"]
    }
    assert speakers == {attendee["AttendeeId"]}


def test_ctrl_c_stops_sending_and_still_waits_for_the_final(model_cli: Cli) -> None:
    cli = model_cli
    mid = new_meeting(cli, "cli-join-interrupt")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", "join", mid, "--attendee", "kim", "--audio", str(SPEECH)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # wait until the stream is flowing, then interrupt once
        seen.append(line)
        if "transcription started" in line:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(seen) + err
    assert "interrupted" in err
    assert "left the meeting" in err
    assert "Traceback" not in err
    assert all(line.startswith("kim: ") for line in out.splitlines())
