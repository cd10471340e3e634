"""Chime/Transcribe language codes ↔ Whisper language tokens.

Several Chime dialects share one Whisper language (en-US/en-GB/en-AU → en; fr-CA/fr-FR → fr): Whisper cannot tell
dialects apart, which is why Transcribe allows one dialect per language in LanguageOptions.
"""

from __future__ import annotations

CHIME_TO_WHISPER: dict[str, str] = {
    "en-US": "en",
    "en-GB": "en",
    "en-AU": "en",
    "es-US": "es",
    "fr-CA": "fr",
    "fr-FR": "fr",
    "it-IT": "it",
    "de-DE": "de",
    "pt-BR": "pt",
    "ja-JP": "ja",
    "ko-KR": "ko",
    "zh-CN": "zh",
    "th-TH": "th",
    "hi-IN": "hi",
}


def to_whisper(code: str) -> str:
    try:
        return CHIME_TO_WHISPER[code]
    except KeyError:
        raise ValueError(f"unsupported language code {code!r}") from None


def restrict_scores(
    whisper_probs: dict[str, float], options: tuple[str, ...], preferred: str | None = None
) -> list[tuple[str, float]]:
    """Whisper's language probabilities restricted to the Chime ``options``, renormalised, best first.

    Ties (including an all-zero distribution) go to ``preferred``, then to the order of ``options``.
    """
    raw = [(code, float(whisper_probs.get(to_whisper(code), 0.0))) for code in options]
    total = sum(p for _, p in raw)
    scores = (
        [(code, p / total) for code, p in raw] if total > 0 else [(code, 1.0 / len(raw)) for code, _ in raw]
    )
    order = {code: i for i, code in enumerate(options)}
    return sorted(scores, key=lambda cp: (-cp[1], cp[0] != preferred, order[cp[0]]))
