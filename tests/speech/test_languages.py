from __future__ import annotations

import pytest

from parley.streaming.languages import CHIME_TO_WHISPER, restrict_scores, to_whisper


def test_all_fourteen_chime_languages_map_to_whisper() -> None:
    assert len(CHIME_TO_WHISPER) == 14
    assert to_whisper("en-GB") == to_whisper("en-AU") == "en"
    assert to_whisper("zh-CN") == "zh"
    with pytest.raises(ValueError, match="unsupported"):
        to_whisper("en")


def test_scores_are_restricted_to_the_options_and_renormalized() -> None:
    probs = {"en": 0.70, "fi": 0.20, "de": 0.06, "es": 0.04}
    scores = restrict_scores(probs, ("es-US", "de-DE"))
    assert [c for c, _ in scores] == ["de-DE", "es-US"]
    assert scores[0][1] == pytest.approx(0.6)
    assert sum(s for _, s in scores) == pytest.approx(1.0)


def test_ties_go_to_the_preferred_language() -> None:
    scores = restrict_scores({}, ("ja-JP", "ko-KR"), preferred="ko-KR")
    assert scores[0] == ("ko-KR", 0.5)
