"""faster-whisper / CTranslate2 engine with short encoder windows and batched decoding.

Why not ``WhisperModel.transcribe``: it pads every call to Whisper's 30 s window, so the encoder costs ≈0.3 s on
2 cores however short the clip — fatal for re-decoding a live utterance several times a second. CTranslate2's
Whisper accepts mel features shorter than 3000 frames; we encode only the window plus ``pad_s`` of trailing
silence (without it Whisper tends to stop after the first word of a short window — measured, see
docs/speech.md). The encoder output is then reused for language detection, generation and word alignment, so
one call costs one encoder pass. Requests from several attendees are batched into one ``encode``/``generate``
(decoder steps are latency-bound on CPU, so a batch of 4 costs far less than 4 calls).

Thread-safety: a ``WhisperEngine`` is driven by the scheduler's worker thread(s); CTranslate2 models are safe to
call concurrently up to ``num_workers`` calls.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from parley.engine.base import DecodeRequest, Hypothesis, WordTiming
from parley.engine.guards import NO_SPACE_LANGUAGES, drop_unheard_tail, join_continuations, trim_tail_loop

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame
MAX_FRAMES = 3000  # Whisper's 30 s window
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
#: Whisper's own decode guards (its transcribe loop's defaults): a hypothesis this repetitive, or this unlikely,
#: is decoded again at a higher temperature (finals) or dropped (partials, which the next decode replaces).
COMPRESSION_RATIO_MAX = 2.4
LOGPROB_MIN = -1.0
NO_SPEECH_MIN = 0.6
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6)


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


class WhisperEngine:
    """One shared Whisper model (faster-whisper's loader, our own calls into CTranslate2)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str | None = None,
        cpu_threads: int = 0,
        num_workers: int = 0,
        pad_s: float = 1.0,
        tokens_per_second: float = 6.0,
        full_window: bool = False,
    ) -> None:
        # Never let huggingface_hub reach the network; we only ever pass a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import ctranslate2
        from faster_whisper import WhisperModel

        if device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
            log.warning("CUDA requested but no CUDA device is visible; using the CPU")
            device = "cpu"
        if compute_type is None:
            compute_type = "float16" if device == "cuda" else "int8"
        cores = os.cpu_count() or 1
        if device == "cpu":
            # Decoder steps do not speed up with a second thread (measured: 0.115 s vs 0.114 s for 10 tokens), so
            # on CPU two single-threaded workers give twice the decoding throughput of one two-threaded one.
            num_workers = num_workers or max(1, min(4, cores))
            cpu_threads = cpu_threads or max(1, cores // num_workers)
        else:
            num_workers = num_workers or 1
            cpu_threads = cpu_threads or 1
        self.num_workers = num_workers
        _single_threaded_blas()
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"{model_dir} is not a CTranslate2 model directory")
        self._ctranslate2 = ctranslate2
        self._wm = WhisperModel(
            os.fspath(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            local_files_only=True,
        )
        self.model = self._wm.model
        self.device = device
        self.model_dir = model_dir
        self.multilingual = bool(self.model.is_multilingual)
        self.pad_samples = int(pad_s * SAMPLE_RATE)
        self.tokens_per_second = tokens_per_second
        # full_window=True pads every call to 30 s like WhisperModel.transcribe: only for benchmarks/ablation.
        self.full_window = full_window
        self._tokenizers: dict[str | None, object] = {}
        self._suppress: tuple[int, ...] | None = None

    # -- helpers -------------------------------------------------------------------------------------------------
    def _tokenizer(self, language: str | None):  # -> faster_whisper.tokenizer.Tokenizer
        from faster_whisper.tokenizer import Tokenizer

        key = language if self.multilingual else None
        tok = self._tokenizers.get(key)
        if tok is None:
            tok = Tokenizer(
                self._wm.hf_tokenizer,
                self.multilingual,
                task="transcribe",
                language=key or ("en" if self.multilingual else None),
            )
            self._tokenizers[key] = tok
        return tok

    def _suppressed(self, tok) -> list[int]:
        if self._suppress is None:
            from faster_whisper.transcribe import get_suppressed_tokens

            self._suppress = tuple(get_suppressed_tokens(tok, [-1]))
        return list(self._suppress)

    def _prompt(self, tok, req: DecodeRequest) -> list[int]:
        prev = " ".join(p.strip() for p in (req.initial_prompt, req.hotwords, req.context) if p and p.strip())
        prompt: list[int] = []
        if prev:
            prompt = [tok.sot_prev, *tok.encode(" " + prev)[-(223 - 1) :]]
        return [*prompt, *tok.sot_sequence, tok.no_timestamps]

    @staticmethod
    def _aligned_prompts(prompts: list[list[int]], tok) -> list[list[int]]:
        """CTranslate2 needs <|startoftranscript|> at the same position in every prompt of a batch: left-pad
        shorter previous-text prompts with a space token (neutral context) after <|startofprev|>."""
        sot = [p.index(tok.sot) for p in prompts]
        width = max(sot)
        if width == min(sot):
            return prompts
        space = tok.encode(" ")[0]
        out = []
        for p, k in zip(prompts, sot, strict=True):
            if k == width:
                out.append(p)
            elif k == 0:
                out.append([tok.sot_prev, *([space] * (width - 1)), *p])
            else:
                out.append([p[0], *([space] * (width - k)), *p[1:]])
        return out

    def _features(self, reqs: Sequence[DecodeRequest]) -> tuple[np.ndarray, list[int]]:
        """Mel features of equal length for a batch: each clip zero-padded to the longest + ``pad_s``."""
        limit = MAX_FRAMES * HOP - self.pad_samples
        clips = [r.audio[-limit:] if r.audio.shape[0] > limit else r.audio for r in reqs]
        length = max(c.shape[0] for c in clips) + self.pad_samples
        length = max(length, int(max(r.min_window_s for r in reqs) * SAMPLE_RATE))
        length = min(MAX_FRAMES * HOP, length + (-length) % (2 * HOP))  # even number of frames
        if self.full_window:
            length = MAX_FRAMES * HOP
        fe = self._wm.feature_extractor
        feats = []
        for clip in clips:
            padded = np.zeros(length, dtype=np.float32)
            padded[: clip.shape[0]] = clip
            feats.append(fe(padded, padding=0)[:, : length // HOP])
        content_frames = [max(2, c.shape[0] // HOP) for c in clips]
        return np.ascontiguousarray(np.stack(feats).astype(np.float32)), content_frames

    # -- Engine ----------------------------------------------------------------------------------------------------
    def decode_batch(self, requests: Sequence[DecodeRequest]) -> list[Hypothesis]:
        out: list[Hypothesis | None] = [None] * len(requests)
        groups: dict[tuple[int, float], list[int]] = {}
        for i, req in enumerate(requests):
            # Full-window finals are not batched with short windows: they would pad every short one to 30 s.
            # (Beam size is one per generate call anyway.)
            groups.setdefault((req.beam_size, req.min_window_s), []).append(i)
        for (beam, _), idx in groups.items():
            for i, hyp in zip(idx, self._decode_group([requests[i] for i in idx], beam), strict=True):
                out[i] = hyp
        return [h for h in out if h is not None]

    def _decode_group(self, reqs: list[DecodeRequest], beam: int) -> list[Hypothesis]:
        ct2 = self._ctranslate2
        feats, content_frames = self._features(reqs)
        encoder_output = self.model.encode(ct2.StorageView.from_array(feats), to_cpu=False)

        languages: list[str | None] = [r.language if self.multilingual else None for r in reqs]
        lang_probs: list[dict[str, float]] = [{} for _ in reqs]
        if self.multilingual and any(lang is None for lang in languages):
            detected = self.model.detect_language(encoder_output)
            for i, req in enumerate(reqs):
                probs = {tok[2:-2]: float(p) for tok, p in detected[i]}
                lang_probs[i] = probs
                if languages[i] is None:
                    candidates = req.language_options or tuple(probs)
                    languages[i] = max(candidates, key=lambda code: probs.get(code, 0.0))

        toks = [self._tokenizer(lang) for lang in languages]
        prompts = self._aligned_prompts(
            [self._prompt(tok, req) for tok, req in zip(toks, reqs, strict=True)], toks[0]
        )
        audio_s = max(r.audio.shape[0] for r in reqs) / SAMPLE_RATE
        budget = int(audio_s * self.tokens_per_second) + 8
        max_length = min(448, max(len(p) for p in prompts) + budget)
        options = {
            "max_length": max_length,
            "return_scores": True,
            "return_no_speech_prob": True,
            "suppress_blank": True,
            "suppress_tokens": self._suppressed(toks[0]),
        }
        results = self.model.generate(
            encoder_output, prompts, beam_size=beam, patience=1.0, length_penalty=1.0, **options
        )
        hyps: list[Hypothesis] = []
        text_tokens: list[list[int]] = []
        for i, res in enumerate(results):
            tokens, text, logprob = self._read(toks[i], res)
            no_speech = float(res.no_speech_prob)
            if reqs[i].final and not self._acceptable(text, logprob, no_speech):
                tokens, text, logprob = self._fallback(
                    feats[i : i + 1], prompts[i], toks[i], options, (tokens, text, logprob)
                )
            if tokens and _compression_ratio(text) > COMPRESSION_RATIO_MAX:
                # Still a repetition loop (Whisper's classic failure on odd windows): worthless, drop it.
                tokens, text = [], ""
            text_tokens.append(tokens)
            hyps.append(
                Hypothesis(
                    words=[],
                    text=text,
                    language=languages[i],
                    language_probs=lang_probs[i],
                    no_speech_prob=no_speech,
                    avg_logprob=logprob,
                    audio_s=reqs[i].audio.shape[0] / SAMPLE_RATE,
                )
            )
        self._align(reqs, toks, languages, encoder_output, feats, content_frames, text_tokens, hyps)
        return hyps

    @staticmethod
    def _read(tok, res) -> tuple[list[int], str, float]:
        """Text tokens, text and average log-probability of a generate() result.

        CTranslate2's score is the sum of token log-probabilities divided by length^length_penalty (1.0 here);
        Whisper's average counts the end token too (as faster-whisper computes it).
        """
        ids = res.sequences_ids[0]
        tokens = [t for t in ids if t < tok.eot]
        score = float(res.scores[0]) if res.scores else 0.0
        return tokens, tok.decode(tokens).strip(), score * len(ids) / (len(ids) + 1)

    @staticmethod
    def _acceptable(text: str, logprob: float, no_speech: float) -> bool:
        if not text:
            return True
        if no_speech > NO_SPEECH_MIN and logprob < LOGPROB_MIN:
            return True  # silence: the caller drops it, a higher temperature would only invent words
        return _compression_ratio(text) <= COMPRESSION_RATIO_MAX and logprob >= LOGPROB_MIN

    def _fallback(
        self, feats, prompt, tok, options, first: tuple[list[int], str, float]
    ) -> tuple[list[int], str, float]:
        """Whisper's temperature fallback for a final that failed the guards: sample again, hotter each time.

        One extra encoder pass for this request alone (rare; finals only — a partial that fails is simply
        replaced by the next one). Keeps the best acceptable candidate, else the most likely non-looping one.
        """
        enc = self.model.encode(
            self._ctranslate2.StorageView.from_array(np.ascontiguousarray(feats)), to_cpu=False
        )
        best: tuple[list[int], str, float] | None = None
        for temperature in FALLBACK_TEMPERATURES:
            (res,) = self.model.generate(
                enc, [prompt], beam_size=1, sampling_temperature=temperature, sampling_topk=0, **options
            )
            tokens, text_t, lp = self._read(tok, res)
            if self._acceptable(text_t, lp, float(res.no_speech_prob)):
                return tokens, text_t, lp
            if _compression_ratio(text_t) <= COMPRESSION_RATIO_MAX and (best is None or lp > best[2]):
                best = (tokens, text_t, lp)
        if best is not None and (_compression_ratio(first[1]) > COMPRESSION_RATIO_MAX or best[2] > first[2]):
            return best
        return first

    def _align(self, reqs, toks, languages, encoder_output, feats, content_frames, text_tokens, hyps) -> None:
        from faster_whisper.transcribe import merge_punctuations

        if not any(text_tokens):
            return
        langs = {languages[i] for i, t in enumerate(text_tokens) if t}
        if len(langs) == 1:
            groups = [(list(range(len(reqs))), encoder_output)]
        else:
            # One start sequence per align call: mixed languages in a batch (only while identifying languages)
            # are re-encoded per language. Rare, so simplicity wins over slicing encoder output.
            groups = []
            for lang in langs:
                idx = [i for i in range(len(reqs)) if languages[i] == lang]
                sub = np.ascontiguousarray(feats[idx])
                groups.append(
                    (idx, self.model.encode(self._ctranslate2.StorageView.from_array(sub), to_cpu=False))
                )
        for idx, enc in groups:
            tok = toks[idx[0]]
            # Empty hypotheses keep their batch slot with a dummy token; their alignment is ignored.
            tokens = [text_tokens[i] or [tok.eot - 1] for i in idx]
            frames = [content_frames[i] for i in idx]
            alignments = self._wm.find_alignment(tok, tokens, enc, frames)
            for i, alignment in zip(idx, alignments, strict=True):
                if not text_tokens[i]:
                    continue
                merge_punctuations(alignment, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)
                raw = [
                    (w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
                    for w in alignment
                ]
                if languages[i] not in NO_SPACE_LANGUAGES:
                    raw = join_continuations(raw)
                limit = reqs[i].audio.shape[0] / SAMPLE_RATE
                offset = reqs[i].offset_s
                words = []
                for text, start, end, probability in raw:
                    text = text.strip()
                    if not text:
                        continue
                    start = min(start, limit)
                    end = max(start, min(end, limit))
                    words.append(
                        WordTiming(
                            text=text,
                            start_s=round(offset + start, 3),
                            end_s=round(offset + end, 3),
                            probability=probability,
                        )
                    )
                end_s = offset + limit
                words = drop_unheard_tail(trim_tail_loop(words, end_s, audio_start_s=offset), end_s)
                hyps[i].words = words
                hyps[i].text = " ".join(w.text for w in words) if len(words) != len(raw) else hyps[i].text

    def close(self) -> None:
        # CTranslate2 frees the model when the last reference goes; drop ours so close() releases memory.
        self._tokenizers.clear()
        self.model = None  # type: ignore[assignment]
        self._wm = None  # type: ignore[assignment]


def _single_threaded_blas() -> None:
    """Keep numpy's OpenBLAS to the calling thread (process-wide, which is what OpenBLAS offers).

    The engine's only BLAS work is the mel filterbank product of feature extraction, a few milliseconds per
    decode on small matrices. With its default pool OpenBLAS's helper thread busy-waits after each call, and with
    a decode every 0.3 s it never sleeps: on 2 cores one transcribed speaker cost about 1.0 core with the pool and
    0.6 without (the decoders' own threads unchanged). CTranslate2's OpenMP pool is left alone.
    """
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().select(internal_api="openblas").limit(limits=1)
