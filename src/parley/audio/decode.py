"""Streaming decode of attendees' uplink audio to the speech core's input: PCM16 mono 16 kHz.

Attendees send either raw PCM16 LE mono at a declared rate (8–48 kHz), or Opus in the WebM/Ogg container
stream that browsers' ``MediaRecorder`` produces, cut into WebSocket frames at arbitrary byte boundaries.
Every decoder here takes those chunks one at a time and returns whatever 16 kHz PCM they completed, keeping
only bounded state (no concatenation of the stream's history).

Why the container decoder runs FFmpeg's demuxer on a helper thread behind a *blocking* pipe: FFmpeg's
demuxers (matroska/webm, ogg) are written against blocking reads; they cannot suspend mid-element and resume
later. A file-like object that returned ``b""`` when momentarily empty would mean EOF to FFmpeg (sticky in its
I/O context), and raising from ``read`` would abandon a half-parsed element. Demuxing WebM ourselves would
mean writing an EBML parser (unknown-size segments and clusters, block lacing) — exactly what FFmpeg already
does correctly. So the demuxer gets a pipe whose ``read`` blocks until data or end-of-stream arrives, and
``feed()`` hands a chunk over and waits until the demuxer is starved again (blocked on the pipe with nothing
left), so each call returns all the PCM its chunk completed — deterministic, with one short-lived hand-off
per chunk. ``flush()`` signals end-of-stream; ``close()`` aborts (an attendee who vanishes mid-stream).
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

import av
import numpy as np
import soxr

from parley.audio.frames import SAMPLE_RATE

MIN_PCM_RATE = 8000
MAX_PCM_RATE = 48000
# Bytes a container stream may feed without producing any audio before we call it undecodable. Opus at a
# browser's ~32 kbit/s makes well under 1 MiB in four minutes, and real streams yield audio every ~20 ms.
DEFAULT_MAX_UNDECODED = 1 << 20
# How long feed()/flush() wait for the demuxer thread before declaring it stuck. Decoding a 64 KiB chunk of
# Opus takes milliseconds; this only turns a would-be hang of the server into an error.
_STALL_TIMEOUT_S = 10.0

ContainerKind = Literal["webm", "ogg"]


class AudioFormatError(ValueError):
    """The declared format is unsupported, or the bytes are not decodable as it (the message says which)."""


class Decoder(Protocol):
    """Uplink bytes in, PCM16 LE mono 16 kHz bytes out (possibly empty while the decoder needs more input)."""

    def feed(self, chunk: bytes) -> bytes: ...

    def flush(self) -> bytes:
        """End of stream: return what is still held back. The decoder cannot be fed afterwards."""
        ...

    def close(self) -> None:
        """Release resources without decoding further (idempotent); safe to call after ``flush``."""
        ...


class PcmResampler:
    """PCM16 LE mono at ``rate`` → 16 kHz, streaming (soxr keeps the filter state between chunks).

    A WebSocket frame may split a sample; the odd byte is carried to the next call.
    """

    def __init__(self, rate: int) -> None:
        if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_PCM_RATE <= rate <= MAX_PCM_RATE:
            raise AudioFormatError(
                f"PCM sample rate must be an integer from {MIN_PCM_RATE} to {MAX_PCM_RATE} Hz, got {rate!r}"
            )
        self.rate = rate
        self._carry = b""
        self._stream = (
            None
            if rate == SAMPLE_RATE
            else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16", quality="HQ")
        )
        self._done = False

    def feed(self, chunk: bytes) -> bytes:
        if self._done:
            raise AudioFormatError("the audio stream already ended")
        data = self._carry + chunk if self._carry else chunk
        usable = len(data) & ~1
        self._carry = bytes(data[usable:])
        if not usable:
            return b""
        if self._stream is None:
            return bytes(data[:usable])
        samples = np.frombuffer(data, dtype="<i2", count=usable // 2)
        return self._stream.resample_chunk(samples).astype("<i2", copy=False).tobytes()

    def flush(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        self._carry = b""  # half a sample is not audio
        if self._stream is None:
            return b""
        return self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True).astype("<i2").tobytes()

    def close(self) -> None:
        self._done = True
        self._carry = b""


class _Aborted(Exception):
    """Raised inside the demuxer thread's read() to unwind FFmpeg when the decoder is closed."""


class _Pipe:
    """A file-like whose ``read`` blocks until bytes or end-of-stream arrive (see the module docstring).

    Deliberately has no ``seek``: PyAV then opens the input as a non-seekable stream, so FFmpeg never tries
    to jump to the end for cues or a duration.
    """

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self._chunks: deque[memoryview] = deque()
        self.buffered = 0
        self.eof = False
        self.aborted = False
        self.starved = False  # the reader is blocked waiting, with nothing buffered

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            while not self._chunks and not self.eof and not self.aborted:
                self.starved = True
                self._cond.notify_all()
                self._cond.wait()
            self.starved = False
            if self.aborted:
                raise _Aborted
            if not self._chunks:
                return b""  # end of stream
            if size is None or size < 0:
                size = self.buffered
            out = bytearray()
            while self._chunks and len(out) < size:
                head = self._chunks[0]
                take = head[: size - len(out)]
                out += take
                if len(take) == len(head):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = head[len(take) :]
            self.buffered -= len(out)
            return bytes(out)

    def push(self, chunk: bytes) -> None:
        """Caller holds the condition."""
        if chunk:
            self._chunks.append(memoryview(bytes(chunk)))
            self.buffered += len(chunk)
            self.starved = False


class ContainerDecoder:
    """Opus in a WebM or Ogg byte stream → PCM16 mono 16 kHz, via PyAV (see the module docstring for why a
    helper thread).

    ``feed`` returns everything the chunk completed; it raises :class:`AudioFormatError` for input FFmpeg
    rejects, and once more than ``max_undecoded`` bytes arrived without producing any audio. After an error
    the decoder is dead: every further call raises the same error. ``close()`` (or dropping the decoder: a
    finalizer aborts the demuxer) ends the helper thread, so an attendee who vanishes mid-stream leaks nothing.
    """

    def __init__(self, kind: ContainerKind, *, max_undecoded: int = DEFAULT_MAX_UNDECODED) -> None:
        if kind not in ("webm", "ogg"):
            raise AudioFormatError(f"unsupported container {kind!r}; expected 'webm' or 'ogg'")
        self.kind = kind
        # The thread references only the worker, never this wrapper, so the wrapper can be collected.
        self._worker = _DemuxWorker(kind, max_undecoded)
        self._finalizer = weakref.finalize(self, self._worker.abort)

    def feed(self, chunk: bytes) -> bytes:
        return self._worker.feed(chunk)

    def flush(self) -> bytes:
        return self._worker.flush()

    def close(self) -> None:
        self._finalizer()


class _DemuxWorker:
    """The state shared between the caller and the demuxer thread, all guarded by one condition."""

    def __init__(self, kind: ContainerKind, max_undecoded: int) -> None:
        self.kind = kind
        self._max_undecoded = max_undecoded
        self._cond = threading.Condition()
        self._pipe = _Pipe(self._cond)
        self._out: list[bytes] = []
        self._undecoded = 0  # bytes fed since the last PCM came out
        self._error: AudioFormatError | None = None
        self._finished = False  # the demuxer thread has exited
        self._flushed = False
        self._thread: threading.Thread | None = None

    # -- caller side ---------------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        if self._flushed:
            raise AudioFormatError("the audio stream already ended")
        if self._thread is None:
            # Started lazily so that a decoder that is never fed costs no thread.
            self._thread = threading.Thread(target=self._run, name=f"parley-decode-{self.kind}", daemon=True)
            self._thread.start()
        with self._cond:
            self._raise_if_failed()
            self._pipe.push(chunk)
            self._undecoded += len(chunk)
            self._cond.notify_all()
            self._wait(lambda: self._finished or (self._pipe.starved and not self._pipe.buffered))
            out = self._take()
            if self._finished:
                # The demuxer ended before end-of-stream was signalled: the container said it was over (or
                # it failed). Report failures now; trailing bytes after a complete stream are ignored.
                self._raise_if_failed()
            elif self._undecoded > self._max_undecoded:
                self._fail(
                    f"{self._undecoded} bytes of {self.kind} input produced no audio; "
                    f"is this really Opus in {self.kind}?"
                )
            return out

    def flush(self) -> bytes:
        if self._flushed:
            return b""
        self._flushed = True
        if self._thread is None:
            return b""
        with self._cond:
            self._pipe.eof = True
            self._cond.notify_all()
            self._wait(lambda: self._finished)
            out = self._take()
            self._raise_if_failed()
            return out

    def abort(self) -> None:
        self._flushed = True
        with self._cond:
            self._pipe.aborted = True
            self._out.clear()
            self._cond.notify_all()

    def _wait(self, done: Callable[[], bool]) -> None:
        """Caller holds the condition."""
        if not self._cond.wait_for(done, timeout=_STALL_TIMEOUT_S):
            self._fail(f"the {self.kind} decoder stalled")

    def _take(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        if out:
            self._undecoded = 0
        return out

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _fail(self, message: str) -> None:
        """Caller holds the condition. Kills the decoder (the thread unwinds at its next read) and raises."""
        self._error = AudioFormatError(message)
        self._pipe.aborted = True
        self._cond.notify_all()
        raise self._error

    # -- demuxer thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        error: AudioFormatError | None = None
        try:
            self._decode()
        except _Aborted:
            pass
        except AudioFormatError as exc:
            error = exc
        except av.FFmpegError as exc:
            error = AudioFormatError(f"undecodable {self.kind} audio: {exc}")
        except Exception as exc:  # never let a corrupt upload take anything else down
            error = AudioFormatError(f"undecodable {self.kind} audio: {type(exc).__name__}: {exc}")
        with self._cond:
            if error is not None and self._error is None and not self._pipe.aborted:
                self._error = error
            self._finished = True
            self._cond.notify_all()

    def _decode(self) -> None:
        # probesize/analyzeduration: Opus's parameters are in the container header, so there is no reason to
        # let find_stream_info buffer seconds of audio before the first frame comes out.
        options = {"probesize": "4096", "analyzeduration": "0"}
        with av.open(self._pipe, mode="r", format=self.kind, options=options, buffer_size=4096) as container:
            audio = [s for s in container.streams if s.type == "audio"]
            if not audio:
                raise AudioFormatError(f"the {self.kind} stream has no audio track")
            stream = audio[0]
            if stream.codec_context.name != "opus":
                raise AudioFormatError(
                    f"expected Opus audio in {self.kind}, got {stream.codec_context.name!r}"
                )
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for packet in container.demux(stream):
                # The demuxer's final packet is empty and flushes the codec.
                for frame in packet.decode():
                    self._emit(resampler.resample(frame))
            self._emit(resampler.resample(None))

    def _emit(self, frames: list[av.AudioFrame]) -> None:
        pcm = b"".join(f.to_ndarray().astype("<i2", copy=False).tobytes() for f in frames)
        if pcm:
            with self._cond:
                self._out.append(pcm)


_PCM_NAMES = {"pcm16", "pcm", "pcm_s16le", "audio/l16"}
_CONTAINER_NAMES: dict[str, ContainerKind] = {
    "webm-opus": "webm",
    "ogg-opus": "ogg",
    "webm": "webm",
    "audio/webm": "webm",
    "ogg": "ogg",
    "audio/ogg": "ogg",
}


def make_decoder(format: str, sample_rate: int | None) -> Decoder:
    """The decoder for an attendee's declared uplink format; :class:`AudioFormatError` if it is unsupported.

    ``format`` (docs/protocol.md): ``pcm16`` (aliases ``pcm``, ``pcm_s16le``, ``audio/l16``) with
    ``sample_rate`` 8000–48000 Hz required; or ``webm-opus`` / ``ogg-opus`` (also ``webm``/``ogg`` and the MIME
    types ``audio/webm``/``audio/ogg``, optionally with ``;codecs=opus``, as ``MediaRecorder.mimeType`` says),
    for which a declared rate is optional and only validated — the container carries the real one.
    """
    if not isinstance(format, str):
        raise AudioFormatError(f"audio format must be a string, got {type(format).__name__}")
    base, _, params = format.strip().lower().partition(";")
    base = base.strip()
    if base in _PCM_NAMES:
        if sample_rate is None:
            raise AudioFormatError("raw PCM audio needs a declared sample rate")
        return PcmResampler(sample_rate)
    kind = _CONTAINER_NAMES.get(base)
    if kind is None:
        raise AudioFormatError(f"unsupported audio format {format!r}; expected pcm16, webm-opus or ogg-opus")
    codecs = params.strip()
    if codecs and codecs.replace(" ", "") not in ("codecs=opus", 'codecs="opus"'):
        raise AudioFormatError(f"unsupported codec in {format!r}; only Opus is accepted")
    if sample_rate is not None and (
        not isinstance(sample_rate, int)
        or isinstance(sample_rate, bool)
        or not MIN_PCM_RATE <= sample_rate <= MAX_PCM_RATE
    ):
        raise AudioFormatError(
            f"sample rate must be from {MIN_PCM_RATE} to {MAX_PCM_RATE} Hz, got {sample_rate!r}"
        )
    return ContainerDecoder(kind)
