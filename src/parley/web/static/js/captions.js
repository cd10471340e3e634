// Live captions: renders transcript events (docs/protocol.md §2, JSON frames) into a scrolling list.
// A partial result is re-sent under the same resultId and replaces its line in place; the final one
// settles it. Status events drive a banner above the list.

const MAX_LINES = 400;
const SPEAKER_COLORS = 6;

/** "en-US" or "auto: en-US, de-DE" from a status event's transcriptionConfiguration (a JSON string). */
export function describeLanguage(configurationJson) {
  try {
    const config = JSON.parse(configurationJson || "{}");
    const settings = config.EngineTranscribeSettings || config.EngineTranscribeMedicalSettings || {};
    if (settings.IdentifyLanguage) {
      return settings.LanguageOptions ? `auto-detect (${settings.LanguageOptions.split(",").join(", ")})` : "auto-detect";
    }
    return settings.LanguageCode || "";
  } catch {
    return "";
  }
}

function speakerOf(result) {
  const alternative = (result.alternatives || [])[0] || {};
  for (const item of alternative.items || []) {
    if (item.attendee) return item.attendee.externalUserId || item.attendee.attendeeId || "";
  }
  return result.channelId || "Speaker";
}

function colorIndex(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % SPEAKER_COLORS;
}

const REDACTED = /^\[[A-Z_]+\]$/; // a redacted span's item: "[NAME]", "[PII]" (docs/operations.md "PII and PHI")
const MASKED = /^\*+$/; // a vocabulary filter's "mask" method

/** How an item is marked: a PII/PHI entity (identified or redacted), a filtered word, or nothing. */
function markOf(item, entities) {
  if (item.type !== "pronunciation") return null;
  if (REDACTED.test(item.content)) return { kind: "pii", label: `redacted ${item.content.slice(1, -1)}` };
  const entity = entities.find((e) => item.startTimeMs >= e.startTimeMs && item.endTimeMs <= e.endTimeMs);
  if (entity) return { kind: "pii", label: `${entity.category || "PII"}: ${entity.type}` };
  if (item.vocabularyFilterMatch || MASKED.test(item.content)) return { kind: "filtered", label: "vocabulary filter" };
  return null;
}

/**
 * The caption's text. Plain text unless something in it is marked: then built from the items, each PII/PHI
 * word in a <mark class="pii"> and each filtered word in a <mark class="filtered">, titled with what it is.
 */
function renderText(node, alternative, text) {
  const items = (alternative && alternative.items) || [];
  const entities = (alternative && alternative.entities) || [];
  const marks = items.map((item) => markOf(item, entities));
  if (!marks.some(Boolean)) {
    node.textContent = text;
    return;
  }
  const parts = [];
  items.forEach((item, i) => {
    if (item.type === "pronunciation" && parts.length) parts.push(" ");
    const mark = marks[i];
    if (!mark) {
      parts.push(item.content);
      return;
    }
    const element = document.createElement("mark");
    element.className = mark.kind;
    element.title = mark.label;
    element.textContent = item.content;
    parts.push(element);
  });
  node.replaceChildren(...parts);
}

export class CaptionView {
  /**
   * @param {HTMLElement} root holds a `.status-banner` and a `.caption-list` (see the pages' markup)
   */
  constructor(root) {
    this.root = root;
    this.banner = root.querySelector(".status-banner");
    this.list = root.querySelector(".caption-list");
    this.empty = root.querySelector(".caption-empty");
    this.lines = new Map();
    this.onStatus = () => {};
  }

  clear() {
    this.lines.clear();
    this.list.replaceChildren();
    this.setBanner(null);
    this.updateEmpty();
  }

  handleEvents(events) {
    for (const event of events) {
      if (event.type === "status" && event.status) this.status(event.status);
      else if (event.type === "transcript" && event.transcript) this.transcript(event.transcript);
    }
  }

  status(status) {
    const language = describeLanguage(status.transcriptionConfiguration);
    const messages = {
      started: ["Transcription started", language],
      resumed: ["Transcription resumed", language],
      interrupted: ["Transcription interrupted", status.message || "Waiting for the recognizer to come back…"],
      stopped: ["Transcription stopped", ""],
      failed: ["Transcription failed", status.message || ""],
    };
    const [title, detail] = messages[status.type] || [`Transcription ${status.type}`, status.message || ""];
    this.setBanner({ kind: status.type, title, detail });
    this.onStatus(status);
  }

  /** Show a banner: {kind, title, detail}, or null to hide it. Pages use it for their own notices too. */
  setBanner(banner) {
    if (!this.banner) return;
    if (!banner) {
      this.banner.hidden = true;
      this.banner.dataset.kind = "";
      return;
    }
    const title = document.createElement("strong");
    title.textContent = banner.title;
    const parts = [title];
    if (banner.detail) {
      const detail = document.createElement("span");
      detail.textContent = banner.detail;
      parts.push(detail);
    }
    this.banner.replaceChildren(...parts);
    this.banner.dataset.kind = banner.kind;
    this.banner.hidden = false;
  }

  transcript(transcript) {
    const stick = this.isNearBottom();
    for (const result of transcript.results || []) this.result(result);
    this.trim();
    this.updateEmpty();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  result(result) {
    const alternative = (result.alternatives || [])[0];
    const text = alternative ? alternative.transcript : "";
    let line = this.lines.get(result.resultId);
    if (!line) {
      if (!text) return; // an empty partial: nothing to show yet
      line = this.createLine(result);
      this.lines.set(result.resultId, line);
      this.list.append(line.element);
    }
    renderText(line.text, alternative, text);
    line.element.classList.toggle("partial", Boolean(result.isPartial));
    line.element.setAttribute("aria-busy", result.isPartial ? "true" : "false");
    if (result.languageCode) {
      line.language.textContent = result.languageCode;
      line.language.hidden = false;
    }
    if (!result.isPartial && !text) {
      line.element.remove();
      this.lines.delete(result.resultId);
    }
  }

  createLine(result) {
    const element = document.createElement("div");
    element.className = "caption";
    element.dataset.resultId = result.resultId;
    const speaker = speakerOf(result);
    const header = document.createElement("div");
    header.className = "caption-meta";
    const name = document.createElement("span");
    name.className = `speaker speaker-${colorIndex(speaker)}`;
    name.textContent = speaker;
    const language = document.createElement("span");
    language.className = "language";
    language.hidden = true;
    const time = document.createElement("time");
    const start = new Date(result.startTimeMs || Date.now());
    time.dateTime = start.toISOString();
    time.textContent = start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    header.append(name, language, time);
    const text = document.createElement("p");
    text.className = "caption-text";
    element.append(header, text);
    // Consecutive lines of one speaker read as one paragraph: hide the repeated name.
    const previous = this.list.lastElementChild;
    if (previous && previous.dataset.speaker === speaker) element.classList.add("continued");
    element.dataset.speaker = speaker;
    return { element, text, language };
  }

  isNearBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  trim() {
    while (this.list.childElementCount > MAX_LINES) {
      const first = this.list.firstElementChild;
      this.lines.delete(first.dataset.resultId);
      first.remove();
    }
  }

  updateEmpty() {
    if (this.empty) this.empty.hidden = this.list.childElementCount > 0;
  }
}
