"""One attendee's live transcription stream.

Usage (all calls from the event loop thread)::

    stream = AttendeeStream(scheduler, vad_model, StreamConfig(language_code="en-US"))
    stream.feed(pcm16_bytes)           # PCM16 mono 16 kHz, any frame size, as it arrives
    async for result in stream.results():   # RecognitionResult, partials then the final, per ResultId
        ...
    await stream.flush()               # StopMeetingTranscription: finalize the utterance in flight
    await stream.close()               # flush, then end the results() iterator

Results are delivered through the async iterator ``results()`` (an unbounded asyncio.Queue: results are small
and bounded by speech; the *audio* buffer is what must be bounded, and it is a fixed ring buffer).

How it works (docs/speech.md has the measurements):
1. A stateful Silero VAD cuts utterances (onset → a new ResultId; ``min_silence_s`` of silence → final).
2. While the person speaks, a partial decode is requested whenever ``partial_step_s`` of new audio arrived and
   no decode of this stream is queued or running. The request is built when a worker takes it, from all audio
   received by then (greedy, short window: only the audio after the last committed word, plus 1 s of padding).
3. LocalAgreement-n commits the words the last n hypotheses agree on; committed words are ``stable: true``
   (with EnablePartialResultsStabilization) and are never retracted. After a commit, the decode window starts
   at the end of the last committed word, so partials stay cheap however long the utterance gets.
4. At the end of the utterance one final decode (beam search) runs; the scheduler never drops it. With
   stabilization on, the final keeps the committed words and decodes only the rest; without it, the final
   re-decodes the whole utterance (most accurate).
5. Language identification (IdentifyLanguage) chooses among LanguageOptions from Whisper's language
   probabilities restricted to the options, and locks the choice once ≥ 3 s of speech were heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from parley.audio.frames import SAMPLE_RATE, RingBuffer, pcm16_to_float32
from parley.engine.base import DecodeRequest, Hypothesis
from parley.engine.guards import NO_SPACE_LANGUAGES
from parley.engine.scheduler import Scheduler
from parley.streaming.agreement import (
    FLOOR_TOLERANCE_S,
    STABILITY_PARAMS,
    AgreementParams,
    LocalAgreement,
    Word,
)
from parley.streaming.languages import restrict_scores, to_whisper
from parley.streaming.results import Item, RecognitionResult, Stability, StreamConfig, new_result_id
from parley.streaming.vad import StreamingVad, VadConfig, VadModel

log = logging.getLogger(__name__)

_ids = itertools.count(1)


@dataclass(slots=True)
class StreamPolicy:
    """Engine-facing tunables (StreamConfig is the API-facing part)."""

    partial_step_s: float = 0.5  # new audio needed before another partial decode (at full load, see below)
    # Adaptive step: the step shrinks to ``partial_step_min_s`` while a worker is idle and grows with the
    # scheduler's backlog up to ``partial_step_max_s``; spare CPU buys latency, a busy one capacity.
    adaptive_step: bool = True
    partial_step_min_s: float = 0.3
    partial_step_max_s: float = 1.2
    first_partial_s: float = 0.35  # speech after the onset (VAD start + pad) before the first partial decode
    partial_beam: int = 1  # cheap partials when the engine is busy ...
    # ... and beam search while it has room: a partial built when at most ``idle_beam_pressure`` jobs per worker
    # are queued or running (this one included) uses ``partial_beam_idle``. Spare CPU buys accuracy of the words
    # partials commit (real set, lockstep: 8.6 -> 7.7 % at high); under load partials fall back to greedy.
    partial_beam_idle: int = 5
    idle_beam_pressure: float = 0.5
    partial_window_s: float = 0.0  # minimum encoder window of partials (0: audio + 1 s of padding)
    final_beam: int = 5  # careful finals
    final_window_s: float = (
        10.0  # finals are padded to ≥ 10 s: most of the 30 s window's accuracy, 1/3 of its cost
    )
    trim_committed: bool = True  # drop committed audio from the decode window once it grows long
    trim_window_s: float = 4.0  # ... i.e. when the window exceeds this
    trim_keep_s: float = 1.0  # committed audio kept at the window start as acoustic context
    # Bounded results (Transcribe closes results at pauses and keeps them short; see ``_maybe_split``): a result
    # longer than ``pause_split_s`` closes at a pause the VAD is too patient to end it on, and none is longer
    # than ``max_utterance_s`` — so its final comes soon after its last word even if the speaker never pauses.
    pause_split_s: float = 6.0  # from this length a pause of ``split_pause_s`` closes the result
    split_pause_s: float = (
        0.3  # (half of it from ``short_pause_split_s``); the VAD's own end needs min_silence_s
    )
    short_pause_split_s: float = 8.0
    max_utterance_s: float = 10.0  # no result is longer than this
    lid_min_speech_s: float = 3.0  # Transcribe needs ≥ 3 s of speech to identify a language
    lid_window_s: float = (
        30.0  # window while identifying: short windows blur language probabilities (measured)
    )
    buffer_s: float = 30.0  # ring buffer capacity; must exceed max_utterance_s + VAD lag
    context_chars: int = 200  # committed text passed as Whisper's previous-text prompt when trimmed
    # Condition finals on this speaker's previous final text, as offline decoding conditions on the previous
    # window. Off: on real speech it carried errors forward ("ill-sposed" twice) and cost 2 WER points with
    # stabilization off (real set, lockstep: 7.5 % with the prompt, 5.3 % without; espeak-ng speech had gained).
    condition_on_previous: bool = False
    #: ... for partials too. Off by default: greedy short windows conditioned on the prompt were less stable
    #: (lockstep bench, stabilization high: 13.2 → 15.3 % WER), while beam-5 finals gain from it.
    condition_partials: bool = False
    vad: VadConfig = field(default_factory=VadConfig)
    #: commit rules per PartialResultsStability (None: stabilization off); a copy, so tuning one stream's
    #: policy (bench, tests) never changes another's
    agreement: dict[Stability | None, AgreementParams] = field(default_factory=lambda: dict(STABILITY_PARAMS))


@dataclass(slots=True, eq=False)
class _Utterance:
    result_id: str
    start: int  # absolute sample index of speech onset (incl. pad)
    agreement: LocalAgreement
    window_start: int
    last_decoded_end: int = 0
    final_submitted: bool = False
    emitted: tuple[str, int] | None = None  # (transcript, stable count) of the last partial sent
    last_words: list[Word] = field(default_factory=list)  # committed + tentative of the last partial
    successor: _Utterance | None = None  # set when ``_split`` closed this one in mid-speech


_END = object()
#: How far inside its aligned edges a word surely is (alignment times are good to a frame or two at best).
WORD_EDGE_S = 0.05


class AttendeeStream:
    def __init__(
        self,
        scheduler: Scheduler,
        vad_model: VadModel,
        config: StreamConfig,
        policy: StreamPolicy | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.config = config
        self.policy = policy or StreamPolicy()
        self.name = name or f"stream-{next(_ids)}"
        self._scheduler = scheduler
        self._vad = StreamingVad(vad_model, self.policy.vad)
        self._vad_pad = int(self.policy.vad.speech_pad_s * SAMPLE_RATE)
        self._ring = RingBuffer(int(self.policy.buffer_s * SAMPLE_RATE))
        self._lock = threading.Lock()  # guards utterance fields read by the worker thread in _build_partial
        self._utt: _Utterance | None = None
        self._partial_future: asyncio.Future[Hypothesis | None] | None = None
        self._last_final: asyncio.Task[None] | None = None
        self._previous_text = ""  # this speaker's recent final text, the prompt of the next utterance
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._closed = False
        self._stabilize = config.enable_partial_results_stabilization
        self._agreement_params = self.policy.agreement[
            config.partial_results_stability if self._stabilize else None
        ]
        # Language state
        if config.identify_language:
            self._options = tuple(config.language_options)
            self._whisper_options = tuple(dict.fromkeys(to_whisper(c) for c in self._options))
            self._language: str | None = None  # locked Chime code
            self._lid_scores: list[tuple[str, float]] = []
            self._lid_evidence: dict[str, float] = {}
            self._lid_weight = 0.0
        else:
            self._options = ()
            self._whisper_options = ()
            self._language = config.language_code
            self._lid_scores = []

    # -- public API ------------------------------------------------------------------------------------------
    @property
    def position_s(self) -> float:
        """Seconds of audio fed so far (stream time)."""
        return self._ring.end / SAMPLE_RATE

    def feed(self, pcm16: bytes) -> None:
        self.feed_samples(pcm16_to_float32(pcm16))

    def feed_samples(self, samples: np.ndarray) -> None:
        if self._closed:
            raise RuntimeError("stream is closed")
        self._ring.write(samples)
        for event in self._vad.process(samples):
            if event.kind == "start":
                if self._utt is None:
                    self._start_utterance(event.sample)
            elif self._utt is not None:
                self._finalize(min(event.sample, self._ring.end))
        utt = self._utt
        if utt is not None:
            self._maybe_split(utt)
            self._maybe_partial()

    async def flush(self) -> None:
        """Finalize the utterance in flight (if any) and wait until every final result has been queued."""
        if self._utt is not None:
            self._finalize(self._ring.end)
        if self._last_final is not None:
            await asyncio.shield(self._last_final)

    async def close(self) -> None:
        if self._closed:
            return
        await self.flush()
        self._closed = True
        self._scheduler.cancel_partial(self.name)
        self._queue.put_nowait(_END)

    async def results(self) -> AsyncIterator[RecognitionResult]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            assert isinstance(item, RecognitionResult)
            yield item

    # -- utterance life cycle ------------------------------------------------------------------------------------
    def _start_utterance(self, start: int, *, window_start: int = -1) -> None:
        start = max(start, self._ring.start)
        self._utt = _Utterance(
            result_id=new_result_id(),
            start=start,
            agreement=LocalAgreement(
                self._agreement_params,
                floor_s=start / SAMPLE_RATE if window_start >= 0 else 0.0,
            ),
            window_start=max(window_start, self._ring.start) if window_start >= 0 else start,
            last_decoded_end=start,
        )

    def _finalize(self, end: int) -> None:
        utt = self._utt
        assert utt is not None
        self._utt = None
        full = not self._stabilize or not utt.agreement.committed
        begin = min(utt.start, utt.window_start) if full else utt.window_start
        with self._lock:
            utt.final_submitted = True
        if end - begin < int(0.1 * SAMPLE_RATE) and not utt.agreement.committed and utt.emitted is None:
            return  # a blip: nothing was said and nothing was shown
        request = self._request(begin, end, beam=self.policy.final_beam, utt=utt, full=full, final=True)
        request.min_window_s = self._window(self.policy.final_window_s)
        future = self._scheduler.submit_final(self.name, request)
        previous = self._last_final
        self._last_final = asyncio.get_running_loop().create_task(
            self._complete_final(utt, future, previous, full, end)
        )

    def _maybe_split(self, utt: _Utterance) -> None:
        """Close an utterance that grew long at a pause, else at ``max_utterance_s``.

        Pauses first: a cut inside silence is one Whisper decodes on both sides like any VAD end (cuts at
        aligned word ends clipped words and cost about 2 WER points on the real set). The VAD's own end needs
        ``min_silence_s``; the longer the result, the shorter the pause that may close it. Failing a pause, at
        ``max_utterance_s`` the cut goes to the quietest 10 ms of the last two seconds heard. (Cutting after
        words with sentence punctuation was tried: partials' punctuation is unreliable — "selfish is" became
        "selfless." — and cuts there lost words.)
        """
        policy = self.policy
        length = (self._ring.end - utt.start) / SAMPLE_RATE
        if length <= min(policy.pause_split_s, policy.max_utterance_s):
            return
        silence = self._vad.silence_start
        if silence is not None:
            pause = (self._vad.position - silence) / SAMPLE_RATE
            if pause >= (
                policy.split_pause_s if length <= policy.short_pause_split_s else policy.split_pause_s / 2
            ):
                self._split(utt, silence + int(min(pause / 2, policy.vad.speech_pad_s) * SAMPLE_RATE))
                return
        if length > policy.max_utterance_s:
            floor = max(
                utt.start / SAMPLE_RATE + 1.0,
                utt.agreement.committed[-1].end_s if utt.agreement.committed else 0.0,
            )
            now = self._ring.end / SAMPLE_RATE
            # Never inside a word the latest hypothesis heard: a quiet stop consonant mid-word ("view|est") was
            # chosen, and both halves were lost. Word interiors only (alignment smears word edges).
            inside = [(w.start_s + WORD_EDGE_S, w.end_s - WORD_EDGE_S) for w in utt.last_words]
            self._split(utt, self._quietest(max(floor, now - 2.0), now - 0.3, avoid=inside))

    def _quietest(self, lo_s: float, hi_s: float, avoid: Sequence[tuple[float, float]] = ()) -> int:
        """The middle of the quietest 10 ms of audio in [lo_s, hi_s] (absolute sample index; ``hi_s`` if empty),
        outside the ``avoid`` intervals (seconds) unless nothing else is left.

        A few lines of numpy rather than a library: all it needs is the minimum of a short-time energy.
        """
        hop = SAMPLE_RATE // 100
        lo = max(self._ring.start, int(lo_s * SAMPLE_RATE))
        hi = min(self._ring.end, int(hi_s * SAMPLE_RATE))
        if hi - lo < hop:
            return min(max(hi, self._ring.start), self._ring.end)
        audio = self._ring.read(lo, hi)
        frames = audio[: (audio.shape[0] // hop) * hop].reshape(-1, hop)
        energy = (frames * frames).sum(axis=1)
        centres = (lo + np.arange(energy.shape[0]) * hop + hop // 2) / SAMPLE_RATE
        blocked = np.zeros(energy.shape[0], dtype=bool)
        for start, end in avoid:
            blocked |= (centres > start) & (centres < end)
        if not blocked.all():
            energy = np.where(blocked, np.inf, energy)
        return lo + int(np.argmin(energy)) * hop + hop // 2

    def _split(self, utt: _Utterance, cut: int) -> None:
        """End the utterance at ``cut`` (a pause or a quiet point) and continue in a new one from there.

        The new utterance re-hears ``trim_keep_s`` of audio before the cut as acoustic context (a window that
        starts in mid-speech makes Whisper invent a word). The old result keeps the words it heard starting
        before the cut (less ``FLOOR_TOLERANCE_S``), the new one those ending after it, less any straddling word
        the old one already has (``LocalAgreement.owned``): none is emitted twice or lost.
        """
        self._finalize(cut)
        self._start_utterance(cut, window_start=cut - int(self.policy.trim_keep_s * SAMPLE_RATE))
        utt.successor = self._utt

    # -- decoding --------------------------------------------------------------------------------------------------
    def _request(
        self, begin: int, end: int, *, beam: int, utt: _Utterance, full: bool, final: bool = False
    ) -> DecodeRequest:
        language = None if self._language is None else to_whisper(self._language)
        prompt = self.policy.condition_on_previous and (final or self.policy.condition_partials)
        parts = [self._previous_text] if prompt and self._previous_text else []
        before = [w.text for w in utt.agreement.committed if w.end_s * SAMPLE_RATE <= begin + 1]
        if not full and before:
            parts.append(self._join(before, language))
        context = _tail(" ".join(parts), self.policy.context_chars) or None
        return DecodeRequest(
            audio=self._ring.read(max(begin, self._ring.start), end),
            offset_s=max(begin, self._ring.start) / SAMPLE_RATE,
            language=language,
            language_options=self._whisper_options if language is None else (),
            beam_size=beam,
            context=context,
            initial_prompt=self.config.initial_prompt,
            hotwords=self.config.hotwords,
        )

    def _window(self, wanted: float) -> float:
        # Until the language is identified, decode with Whisper's full window: on a 3 s German clip the
        # German probability was 0.26 with a short window and 0.92 with the full one.
        return wanted if self._language is not None else max(wanted, self.policy.lid_window_s)

    def _maybe_partial(self) -> None:
        utt = self._utt
        if utt is None or self._partial_future is not None:
            return
        end = self._ring.end
        # Until something was shown, retry faster: the first decodes of an utterance often hear no word yet.
        step = self._step()
        if utt.emitted is None:
            step = min(step, 0.2)
        if end - utt.last_decoded_end < step * SAMPLE_RATE:
            return
        if end - utt.start - self._vad_pad < self.policy.first_partial_s * SAMPLE_RATE:
            return

        def build() -> DecodeRequest | None:
            # Runs on a worker thread when the job is picked: decode everything that has arrived by then.
            with self._lock:
                if utt.final_submitted:
                    return None
                stop = self._ring.end
                begin = utt.window_start
                idle = self._scheduler.pressure() <= self.policy.idle_beam_pressure
                beam = self.policy.partial_beam_idle if idle else self.policy.partial_beam
                req = self._request(begin, stop, beam=beam, utt=utt, full=begin == utt.start)
                req.min_window_s = self._window(self.policy.partial_window_s)
                utt.last_decoded_end = stop
            return req

        utt.last_decoded_end = end  # provisional, so we do not re-request before the build happens
        future = self._scheduler.submit_partial(self.name, build)
        self._partial_future = future
        future.add_done_callback(lambda f: self._on_partial(utt, f))

    def _step(self) -> float:
        """Audio needed before the next partial decode, from how busy the shared workers are.

        Pressure < 1 means a worker would pick the request up at once: decode often (commit latency is about
        two steps). Above that, every stream's requests queue behind the others', so asking more often only
        causes skipped partials; lengthen the step in proportion and let each decode cover more audio.
        """
        policy = self.policy
        if not policy.adaptive_step:
            return policy.partial_step_s
        pressure = self._scheduler.pressure()
        if pressure < 1.0:
            return policy.partial_step_min_s
        return min(policy.partial_step_max_s, max(policy.partial_step_s, policy.partial_step_s * pressure))

    def _on_partial(self, utt: _Utterance, future: asyncio.Future[Hypothesis | None]) -> None:
        if self._partial_future is future:
            self._partial_future = None
        try:
            hyp = future.result()
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("%s: partial decode failed", self.name)
            hyp = None
        if hyp is not None and not utt.final_submitted and not self._closed:
            self._apply_partial(utt, hyp)
        if not self._closed:
            self._maybe_partial()

    def _apply_partial(self, utt: _Utterance, hyp: Hypothesis) -> None:
        self._observe_language(hyp, final=False)
        words = [] if _looks_like_silence(hyp) else _words(hyp)
        decoded_end = utt.last_decoded_end / SAMPLE_RATE  # set by this decode's build; one decode in flight
        heard = decoded_end - utt.start / SAMPLE_RATE
        # Whisper's first words of a short window are its least reliable (measured: LA-2 agreed on wrong
        # words from two ~1 s windows); hold commits until the utterance is long enough.
        newly = utt.agreement.update(words, decoded_end, commit=heard >= self._agreement_params.min_audio_s)
        if newly and self.policy.trim_committed and self._language is not None:
            self._trim(utt)
        committed = utt.agreement.committed
        tentative = utt.agreement.tentative
        all_words = committed + tentative
        utt.last_words = all_words
        if not all_words:
            return
        language = self._whisper_language(hyp)
        transcript = self._join([w.text for w in all_words], language)
        signature = (transcript, len(committed))
        if signature == utt.emitted:
            return
        utt.emitted = signature
        self._emit(utt, all_words, len(committed), partial=True, language=language)

    def _trim(self, utt: _Utterance) -> None:
        """Start later decodes at a committed word boundary, keeping ``trim_keep_s`` of committed audio.

        Why keep some: a window that starts exactly at the last committed word's aligned end often clips the
        next word (alignment is ±1-2 frames) and Whisper then invents a word; re-hearing ~1 s of committed speech
        (whose words the agreement drops by time) avoids that, and the committed text becomes the prompt.
        """
        if (self._ring.end - utt.window_start) / SAMPLE_RATE <= self.policy.trim_window_s:
            return
        committed = utt.agreement.committed
        limit = committed[-1].end_s - self.policy.trim_keep_s
        boundary = next((w.end_s for w in reversed(committed) if w.end_s <= limit), None)
        if boundary is None:
            return
        with self._lock:
            utt.window_start = min(max(int(boundary * SAMPLE_RATE), utt.window_start), self._ring.end)

    async def _complete_final(
        self,
        utt: _Utterance,
        future: asyncio.Future[Hypothesis | None],
        previous: asyncio.Task[None] | None,
        full: bool,
        end: int,
    ) -> None:
        try:
            hyp = await future
        except Exception:
            log.exception("%s: final decode failed", self.name)
            hyp = None
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous  # keep finals in utterance order
        if hyp is not None:
            self._observe_language(hyp, final=True)
            words = [] if _looks_like_silence(hyp) else _words(hyp)
        else:
            words = []
        if utt.successor is not None:
            # The next result owns what starts at the cut (see ``_split``).
            words = [w for w in words if w.start_s < end / SAMPLE_RATE - FLOOR_TOLERANCE_S]
        if full:
            words = utt.agreement.owned(words)
            # An empty final after visible partials would leave clients with a dangling partial: keep the last.
            all_words = words if (words or not utt.last_words) else utt.last_words
        else:
            utt.agreement.commit_all(words)
            all_words = utt.agreement.committed
        if utt.successor is not None:
            utt.successor.agreement.previous = list(all_words)
        if not all_words and utt.emitted is None:
            return
        language = self._whisper_language(hyp)
        self._emit(utt, all_words, len(all_words), partial=False, language=language, end=end)
        if all_words:
            text = self._join([w.text for w in all_words], language)
            self._previous_text = _tail(f"{self._previous_text} {text}", self.policy.context_chars)

    # -- language identification -------------------------------------------------------------------------------------
    def _observe_language(self, hyp: Hypothesis, *, final: bool) -> None:
        if not self.config.identify_language or self._language is not None or not hyp.language_probs:
            return
        scores = restrict_scores(hyp.language_probs, self._options, self.config.preferred_language)
        weight = self._lid_weight + hyp.audio_s
        combined = {c: (self._lid_evidence.get(c, 0.0) + s * hyp.audio_s) / weight for c, s in scores}
        self._lid_scores = sorted(combined.items(), key=lambda cs: -cs[1])
        if final:
            for code, score in scores:
                self._lid_evidence[code] = self._lid_evidence.get(code, 0.0) + score * hyp.audio_s
            self._lid_weight += hyp.audio_s
        if weight >= self.policy.lid_min_speech_s:
            self._language = self._lid_scores[0][0]

    def _whisper_language(self, hyp: Hypothesis | None) -> str | None:
        if self._language is not None:
            return to_whisper(self._language)
        return hyp.language if hyp is not None else None

    def _result_language(self) -> tuple[str | None, list[tuple[str, float]]]:
        if not self.config.identify_language:
            return self._language, []
        code = self._language or (
            self._lid_scores[0][0] if self._lid_scores else self.config.preferred_language
        )
        return code, [(c, round(s, 4)) for c, s in self._lid_scores]

    # -- results -------------------------------------------------------------------------------------------------------
    def _join(self, texts: list[str], language: str | None) -> str:
        return ("" if language in NO_SPACE_LANGUAGES else " ").join(texts)

    def _emit(
        self,
        utt: _Utterance,
        words: list[Word],
        stable_count: int,
        *,
        partial: bool,
        language: str | None,
        end: int | None = None,
    ) -> None:
        items: list[Item] = []
        last_end = 0.0
        for i, word in enumerate(words):
            stable = (i < stable_count) if self._stabilize else None
            # Committed and tentative words come from different decodes whose alignments jitter by a frame
            # or two: keep item times monotonic, as clients expect.
            start = max(word.start_s, last_end)
            last_end = max(word.end_s, start)
            items.extend(
                _items(Word(word.text, start, last_end, word.probability), stable, with_confidence=True)
            )
        code, scores = self._result_language()
        start_s = min(utt.start / SAMPLE_RATE, words[0].start_s) if words else utt.start / SAMPLE_RATE
        end_s = words[-1].end_s if words else (end or utt.start) / SAMPLE_RATE
        self._queue.put_nowait(
            RecognitionResult(
                result_id=utt.result_id,
                is_partial=partial,
                start_s=round(start_s, 3),
                end_s=round(max(end_s, start_s), 3),
                items=items,
                transcript=self._join([w.text for w in words], language),
                language_code=code,
                language_identification=scores,
            )
        )


def _tail(text: str, chars: int) -> str:
    """The last ``chars`` characters of ``text``, starting at a word boundary (a cut word misleads the prompt)."""
    text = text.strip()
    if len(text) <= chars:
        return text
    cut = text[-chars:]
    space = cut.find(" ")
    return cut[space + 1 :] if space >= 0 else cut


def _looks_like_silence(hyp: Hypothesis) -> bool:
    # Whisper's own rule for "this window has no speech" (used by its transcribe loop).
    return hyp.no_speech_prob > 0.6 and hyp.avg_logprob < -1.0


def _words(hyp: Hypothesis) -> list[Word]:
    return [Word(w.text, w.start_s, w.end_s, w.probability) for w in hyp.words]


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _items(word: Word, stable: bool | None, *, with_confidence: bool) -> list[Item]:
    """Split a decoded word into Transcribe items: leading/trailing punctuation become punctuation items."""
    text = word.text
    i, j = 0, len(text)
    while i < j and _is_punct(text[i]):
        i += 1
    while j > i and _is_punct(text[j - 1]):
        j -= 1
    conf = round(word.probability, 4) if (with_confidence and word.probability is not None) else None
    out: list[Item] = []
    for ch in text[:i]:
        out.append(Item(ch, word.start_s, word.start_s, "punctuation", None, stable))
    if i < j:
        out.append(Item(text[i:j], word.start_s, word.end_s, "pronunciation", conf, stable))
    for ch in text[j:]:
        out.append(Item(ch, word.end_s, word.end_s, "punctuation", None, stable))
    return out
