"""The console's transcription settings and vocabularies page, in real Chromium against the real server and
speech model (issue 14): a vocabulary filter made on the Vocabularies form, then PII redaction and that filter
(masked) chosen in the settings panel, produce captions with the redacted and masked words marked. The fake
microphone plays the PII clip (a name, a phone number, a card number; espeak-ng speech, which is enough here:
this proves the page and the wiring, the PII tests prove the detection)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.server import ServerProcess
from tests.browser.test_browser_e2e import (
    CAPTION_WAIT_MS,
    DOCS_IMG,
    UI_WAIT_MS,
    add_attendee,
    chromium_path,  # noqa: F401 - a fixture used by `browser`
    create_meeting,
    fake_mic_wav,
    launch,
    pages,  # noqa: F401 - a fixture
    sign_in,
)

pytestmark = [pytest.mark.model, pytest.mark.browser]

PII_CLIP = Path(__file__).parents[1] / "data" / "speech" / "en_us_pii.flac"


@pytest.fixture(scope="module")
def browser(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # noqa: F811
    from playwright.sync_api import sync_playwright

    microphone = fake_mic_wav(PII_CLIP, tmp_path_factory.mktemp("pii-speech") / "pii-48k.wav")
    with sync_playwright() as pw:
        browser = launch(pw, chromium_path, tmp_path_factory.mktemp("chromium-profile"), microphone)
        yield browser
        browser.close()


def test_settings_panel_redacts_and_masks_and_marks_them_in_captions(
    model_server: ServerProcess,
    browser: Any,
    pages: list[Any],  # noqa: F811
) -> None:
    console = browser.new_page()
    sign_in(console, model_server)
    console.wait_for_selector("#user-box:not([hidden])", timeout=UI_WAIT_MS)

    # A vocabulary filter, made on the Vocabularies form.
    console.click("#vocabulary-new summary")
    console.click("label:has(input[name='vocabulary-kind'][value='filter'])")
    console.fill("#vocabulary-new-name", "no-phones")
    console.select_option("#vocabulary-new-language", "en-US")
    console.fill("#vocabulary-new-words", "phone\nnumber")
    console.click("#vocabulary-create")
    console.wait_for_selector(
        ".transcript-entry[data-kind='filter'][data-name='no-phones']", timeout=UI_WAIT_MS
    )
    # ... which the API sees too.
    transcribe = model_server.client(service="transcribe")
    names = [f["VocabularyFilterName"] for f in transcribe.list_vocabulary_filters()["VocabularyFilters"]]
    assert "no-phones" in names

    create_meeting(console, "Privacy check")
    link = add_attendee(console, "Pat")
    join = browser.new_page()
    join.goto(link)
    join.click("#join-mic")
    join.wait_for_selector("#call-state[data-state='live']", timeout=UI_WAIT_MS)

    console.select_option("#language", "en-US")
    console.select_option("#pii-mode", "redact")
    console.check("#pii-types input[value='NAME']")
    console.check("#pii-types input[value='PHONE']")
    console.select_option("#vocabulary-filter-name", "no-phones")
    console.select_option("#vocabulary-filter-method", "mask")
    console.click("#start-transcription")
    console.wait_for_selector(".status-banner[data-kind='started']", timeout=UI_WAIT_MS)

    console.wait_for_selector("#captions mark.pii", timeout=CAPTION_WAIT_MS)
    console.wait_for_selector("#captions mark.filtered", timeout=CAPTION_WAIT_MS)
    marked = console.locator("#captions mark.pii").all_inner_texts()
    assert any(text in ("[NAME]", "[PHONE]") for text in marked), marked
    assert "***" in console.locator("#captions mark.filtered").all_inner_texts()
    captions = console.inner_text("#captions .caption-list").lower()
    assert "john" not in captions  # redacted, never shown
    assert " phone " not in f" {captions} "  # masked

    # The meeting's stored configuration is what the panel described.
    summary = console.request.get(
        model_server.endpoint + "/console/api/meetings/" + console.text_content("#meeting-id")
    )
    assert summary.status == 200
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    console.set_viewport_size({"width": 1400, "height": 1600})  # the whole panel in view
    console.locator("section.card:has(#transcription-form)").screenshot(
        path=str(DOCS_IMG / "console-settings.png")
    )
    console.locator("#captions").screenshot(path=str(DOCS_IMG / "console-redacted-captions.png"))

    console.click("#stop-transcription")
    console.wait_for_selector(".status-banner[data-kind='stopped']", timeout=CAPTION_WAIT_MS)
    join.click("#leave")

    # Deleting the filter asks first, then it is gone from the page and the API.
    console.on("dialog", lambda dialog: dialog.accept())
    console.click(".transcript-entry[data-kind='filter'][data-name='no-phones'] button")
    console.wait_for_selector(
        ".transcript-entry[data-kind='filter'][data-name='no-phones']", state="detached", timeout=UI_WAIT_MS
    )
    names = [f["VocabularyFilterName"] for f in transcribe.list_vocabulary_filters()["VocabularyFilters"]]
    assert "no-phones" not in names
