// Transcription data messages (`aws:chime:transcription`, SdkTranscriptFrame bytes) as the events captions.js
// renders: the JS SDK's TranscriptEvent shape, key for key as amazon-chime-sdk-js's converter builds it and as
// the audio socket's JSON frames carry it (docs/protocol.md §2; tests/signaling/test_page_codec.py checks both
// agree on every field).

import { decode, enumValue } from "./protobuf.js";

const STATUS_NAMES = new Map(
  ["STARTED", "INTERRUPTED", "RESUMED", "STOPPED", "FAILED"].map((name) => [
    enumValue("SdkTranscriptionStatus.Type", name),
    name.toLowerCase(),
  ]),
);
const PUNCTUATION = enumValue("SdkTranscriptItem.Type", "PUNCTUATION");

function item(raw) {
  const out = {
    type: raw.type === PUNCTUATION ? "punctuation" : "pronunciation",
    startTimeMs: raw.start_time || 0,
    endTimeMs: raw.end_time || 0,
    attendee: { attendeeId: raw.speaker_attendee_id || "", externalUserId: raw.speaker_external_user_id || "" },
    content: raw.content || "",
  };
  if (raw.vocabulary_filter_match) out.vocabularyFilterMatch = true;
  if ("confidence" in raw) out.confidence = raw.confidence;
  if ("stable" in raw) out.stable = raw.stable;
  return out;
}

function entity(raw) {
  const out = {
    category: raw.category || "",
    confidence: raw.confidence || 0,
    content: raw.content || "",
    startTimeMs: raw.start_time || 0,
    endTimeMs: raw.end_time || 0,
  };
  if (raw.type) out.type = raw.type;
  return out;
}

function alternative(raw) {
  const out = { items: raw.items.map(item), transcript: raw.transcript || "" };
  if (raw.entities.length) out.entities = raw.entities.map(entity);
  return out;
}

function result(raw) {
  const out = {
    resultId: raw.result_id || "",
    channelId: raw.channel_id || "",
    isPartial: Boolean(raw.is_partial),
    startTimeMs: raw.start_time || 0,
    endTimeMs: raw.end_time || 0,
    alternatives: raw.alternatives.map(alternative),
  };
  if (raw.language_code) out.languageCode = raw.language_code;
  if (raw.language_identification.length) {
    out.languageIdentification = raw.language_identification.map((l) => ({
      languageCode: l.language_code || "",
      score: l.score || 0,
    }));
  }
  return out;
}

function status(raw) {
  const out = {
    type: STATUS_NAMES.get(raw.type) || "unknown",
    eventTimeMs: raw.event_time || 0,
    transcriptionRegion: raw.transcription_region || "",
    transcriptionConfiguration: raw.transcription_configuration || "",
  };
  if (raw.message) out.message = raw.message;
  return out;
}

/** The events of one transcription data message (SdkTranscriptFrame bytes). */
export function transcriptEvents(data) {
  const events = [];
  for (const event of decode("SdkTranscriptFrame", data).events) {
    if (event.status) events.push({ type: "status", status: status(event.status) });
    else if (event.transcript) {
      events.push({ type: "transcript", transcript: { results: event.transcript.results.map(result) } });
    }
  }
  return events;
}
