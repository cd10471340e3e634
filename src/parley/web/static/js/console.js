// The console: sign in, manage meetings and attendees, run transcription and watch live captions.
// Every call goes to /console/api on this server, which acts for the signed-in identity: the browser
// never holds the secret key.

import { describeClose } from "./closes.js";
import { CaptionView } from "./captions.js";

const LANGUAGES = [
  ["en-US", "English (US)"], ["en-GB", "English (UK)"], ["en-AU", "English (Australia)"],
  ["de-DE", "German"], ["es-US", "Spanish (US)"], ["fr-FR", "French"], ["fr-CA", "French (Canada)"],
  ["it-IT", "Italian"], ["pt-BR", "Portuguese (Brazil)"], ["ja-JP", "Japanese"], ["ko-KR", "Korean"],
  ["zh-CN", "Chinese (Mandarin)"], ["hi-IN", "Hindi"], ["th-TH", "Thai"],
];

// The model's enums (botocore chime-sdk-meetings 2021-07-15): entity types Transcribe redacts or identifies,
// medical specialties, and the regions a configuration may name.
const PII_TYPES = [
  "NAME", "ADDRESS", "EMAIL", "PHONE", "SSN", "CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "CREDIT_DEBIT_EXPIRY",
  "PIN", "BANK_ACCOUNT_NUMBER", "BANK_ROUTING",
];
const SPECIALTIES = ["PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY"];
const REGIONS = [
  "auto", "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "sa-east-1", "eu-central-1", "eu-west-1",
  "eu-west-2", "ap-northeast-1", "ap-northeast-2", "ap-southeast-2", "us-gov-west-1",
];
const MEDICAL_REGIONS = ["auto", "us-east-1", "us-east-2", "us-west-2", "ap-southeast-2", "ca-central-1", "eu-west-1"];

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;

function describeDuration(seconds) {
  if (seconds >= 86400) return `${Math.round(seconds / 86400)} day(s)`;
  if (seconds >= 3600) return `${Math.round(seconds / 3600)} hour(s)`;
  if (seconds >= 60) return `${Math.round(seconds / 60)} minute(s)`;
  return `${Math.round(seconds)} second(s)`;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One console API call; the custom header is the CSRF guard the server requires. */
async function api(method, path, body) {
  const headers = { "X-Parley-Console": "1" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/console/api${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.code || "Error", data.message || response.statusText);
  return data;
}

function joinLink(meetingId, attendee) {
  const params = new URLSearchParams({ meeting: meetingId, token: attendee.JoinToken, name: attendee.ExternalUserId });
  if (attendee.Capabilities && attendee.Capabilities.Audio === "Receive") params.set("listen", "1");
  return `${location.origin}/join#${params}`;
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

class Console {
  constructor() {
    this.session = null;
    this.meetings = [];
    this.transcripts = [];
    this.vocabularies = [];
    this.selected = null; // meeting id
    this.viewer = null; // WebSocket of the selected meeting's caption subscription
    this.captions = new CaptionView($("captions"));
    this.captions.onStatus = (status) => this.transcriptionChanged(status.type);
    this.fillLanguages();
    this.bind();
  }

  // -- setup ------------------------------------------------------------------------------------

  fillLanguages() {
    const options = LANGUAGES.map(([code, name]) => element("option", { value: code, textContent: `${name} — ${code}` }));
    $("language").append(...options);
    for (const [code, name] of LANGUAGES) {
      const box = element("input", { type: "checkbox", value: code, checked: code === "en-US" || code === "de-DE" });
      $("language-options").append(element("label", { className: "check" }, box, ` ${name}`));
      $("preferred-language").append(element("option", { value: code, textContent: code }));
      $("vocabulary-new-language").append(element("option", { value: code, textContent: `${name} — ${code}` }));
    }
    for (const type of PII_TYPES) {
      const box = element("input", { type: "checkbox", value: type });
      $("pii-types").append(element("label", { className: "check" }, box, ` ${type}`));
    }
    $("medical-specialty").append(...SPECIALTIES.map((s) => element("option", { value: s, textContent: s })));
    this.fillRegions(false);
  }

  /** The region list of the chosen engine (Transcribe and Transcribe Medical allow different ones). */
  fillRegions(medical) {
    const select = $("transcribe-region");
    const current = select.value;
    select.replaceChildren(
      element("option", { value: "", textContent: "The meeting's media region" }),
      ...(medical ? MEDICAL_REGIONS : REGIONS).map((r) => element("option", { value: r, textContent: r })),
    );
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  bind() {
    $("login-form").addEventListener("submit", (e) => this.login(e));
    $("logout").addEventListener("click", () => this.logout());
    $("new-meeting-form").addEventListener("submit", (e) => this.createMeeting(e));
    $("attendee-form").addEventListener("submit", (e) => this.addAttendee(e));
    $("transcription-form").addEventListener("submit", (e) => this.startTranscription(e));
    $("stop-transcription").addEventListener("click", () => this.stopTranscription());
    $("delete-meeting").addEventListener("click", () => this.deleteMeeting());
    for (const radio of document.querySelectorAll('input[name="mode"], input[name="engine"]')) {
      radio.addEventListener("change", () => this.modeChanged());
    }
    $("pii-mode").addEventListener("change", () => this.modeChanged());
    $("vocabulary-filter-name").addEventListener("change", () => this.modeChanged());
    $("vocabulary-form").addEventListener("submit", (e) => this.createVocabulary(e));
    window.addEventListener("hashchange", () => this.selectFromHash());
  }

  async start() {
    try {
      this.session = await api("GET", "/session");
    } catch (error) {
      if (error.status !== 401) this.toast(error.message, true);
      this.showLogin();
      return;
    }
    await this.showApp();
  }

  // -- session ----------------------------------------------------------------------------------

  showLogin() {
    this.closeViewer();
    $("app-view").hidden = true;
    $("user-box").hidden = true;
    $("login-view").hidden = false;
    $("access-key-id").focus();
  }

  async login(event) {
    event.preventDefault();
    const form = event.target;
    const button = $("login-submit");
    $("login-error").hidden = true;
    button.disabled = true;
    try {
      this.session = await api("POST", "/login", {
        accessKeyId: form.accessKeyId.value.trim(),
        secretAccessKey: form.secretAccessKey.value,
        region: form.region.value.trim(),
      });
      form.secretAccessKey.value = "";
      await this.showApp();
    } catch (error) {
      $("login-error").textContent =
        error.code === "InvalidCredentials" ? "Sign-in failed: unknown access key ID or wrong secret access key." : error.message;
      $("login-error").hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async logout() {
    await api("POST", "/logout").catch(() => {});
    clearInterval(this.pollTimer);
    this.session = null;
    this.selected = null;
    history.replaceState(null, "", "/");
    this.showLogin();
  }

  async showApp() {
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("user-box").hidden = false;
    $("who").textContent = `${this.session.identity} · ${this.session.accountId} · ${this.session.region}`;
    await this.refreshMeetings();
    await this.refreshTranscripts();
    await this.refreshVocabularies();
    await this.selectFromHash();
    this.startPolling();
  }

  /** The lists follow the account (meetings made by boto3, the CLI, another browser) without a reload. */
  startPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(async () => {
      if (!this.session || document.hidden) return;
      await this.refreshMeetings();
      await this.refreshTranscripts();
      const current = this.meetings.find((m) => m.MeetingId === this.selected);
      if (current && !current.Ended) await this.renderAttendees();
    }, POLL_MS);
  }

  /** What ending a meeting does to its transcript, in words (the server's --transcript-retention). */
  retentionText() {
    const seconds = this.session && this.session.transcriptRetentionSeconds;
    if (seconds === null || seconds === undefined) return "Its transcript is kept until you delete it under Transcripts.";
    if (seconds === 0) return "Its transcript is deleted with it and cannot be downloaded afterwards.";
    return `Its transcript is kept for ${describeDuration(seconds)}, then deleted.`;
  }

  /** A 401 anywhere means the session expired or the server restarted: back to sign-in. */
  handleError(error, target = null) {
    if (error.status === 401) {
      this.toast("Your session ended. Sign in again.", true);
      this.showLogin();
      return;
    }
    if (target) {
      target.textContent = error.message;
      target.hidden = false;
    } else {
      this.toast(error.message, true);
    }
  }

  // -- meetings ---------------------------------------------------------------------------------

  async refreshMeetings() {
    let meetings;
    try {
      meetings = (await api("GET", "/meetings")).Meetings;
    } catch (error) {
      this.handleError(error);
      return;
    }
    const changed = JSON.stringify(meetings) !== JSON.stringify(this.meetings);
    this.meetings = meetings;
    if (changed) this.renderMeetings();
  }

  // -- stored transcripts -----------------------------------------------------------------------

  async refreshTranscripts() {
    let transcripts;
    try {
      transcripts = (await api("GET", "/transcripts")).Transcripts;
    } catch (error) {
      this.handleError(error);
      return;
    }
    if (JSON.stringify(transcripts) === JSON.stringify(this.transcripts)) return;
    this.transcripts = transcripts;
    this.renderTranscripts();
  }

  renderTranscripts() {
    const list = $("transcript-list");
    list.replaceChildren(
      ...this.transcripts.map((t) => {
        const name = t.ExternalMeetingId || "Untitled meeting";
        const when = new Date(t.MeetingStartedAt).toLocaleString();
        const state = t.MeetingEndedAt ? "ended" : "open";
        const detail = `${when} · ${t.ResultCount} result${t.ResultCount === 1 ? "" : "s"}` +
          (t.ExpiresAt ? ` · deleted ${new Date(t.ExpiresAt).toLocaleString()}` : "");
        const downloads = ["vtt", "srt", "jsonl"].map((format) =>
          element("a", {
            className: "button small",
            href: `/console/api/meetings/${t.MeetingId}/transcript?format=${format}`,
            download: "",
            textContent: format === "jsonl" ? "JSON" : format.toUpperCase(),
          }),
        );
        const remove = element("button", { type: "button", className: "button small danger-outline", textContent: "Delete" });
        remove.addEventListener("click", () => this.deleteTranscript(t));
        return element(
          "li",
          { className: "transcript-entry", dataset: { meetingId: t.MeetingId, state } },
          element("span", { className: "meeting-name", textContent: name }),
          element("span", { className: "muted small", textContent: detail }),
          element("span", { className: "row" }, ...downloads, remove),
        );
      }),
    );
    $("transcript-list-empty").hidden = this.transcripts.length > 0;
  }

  // -- vocabularies and filters ----------------------------------------------------------------

  async refreshVocabularies() {
    try {
      this.vocabularies = (await api("GET", "/vocabularies")).Vocabularies;
    } catch (error) {
      this.handleError(error);
      return;
    }
    const kinds = { vocabulary: "Vocabulary", medical: "Medical vocabulary", filter: "Filter" };
    $("vocabulary-list").replaceChildren(
      ...this.vocabularies.map((v) => {
        const remove = element("button", { type: "button", className: "button small danger-outline", textContent: "Delete" });
        remove.addEventListener("click", () => this.deleteVocabulary(v));
        return element(
          "li",
          { className: "transcript-entry", dataset: { kind: v.Kind, name: v.Name } },
          element("span", { className: "meeting-name", textContent: v.Name }),
          element("span", { className: "muted small", textContent: `${kinds[v.Kind]} · ${v.LanguageCode} · ${v.State}` }),
          element("span", { className: "row" }, remove),
        );
      }),
    );
    $("vocabulary-list-empty").hidden = this.vocabularies.length > 0;
    // The settings panel offers what exists (a name typed by hand would only fail at Start).
    const fill = (id, kinds) => {
      const select = $(id);
      const current = select.value;
      select.replaceChildren(
        element("option", { value: "", textContent: "None" }),
        ...this.vocabularies.filter((v) => kinds.includes(v.Kind)).map((v) =>
          element("option", { value: v.Name, textContent: `${v.Name} (${v.LanguageCode})` })),
      );
      if ([...select.options].some((o) => o.value === current)) select.value = current;
    };
    fill("vocabulary-name", ["vocabulary"]);
    fill("vocabulary-filter-name", ["filter"]);
    fill("medical-vocabulary", ["medical"]);
    this.modeChanged();
  }

  async createVocabulary(event) {
    event.preventDefault();
    const error = $("vocabulary-error");
    error.hidden = true;
    const kind = document.querySelector('input[name="vocabulary-kind"]:checked').value;
    if (kind === "medical") {
      error.textContent = "Medical vocabularies are created from a file, through the Transcribe API (CreateMedicalVocabulary).";
      error.hidden = false;
      return;
    }
    const words = $("vocabulary-new-words").value.split("\n").map((w) => w.trim()).filter(Boolean);
    try {
      await api("POST", "/vocabularies", {
        Kind: kind,
        Name: $("vocabulary-new-name").value.trim(),
        LanguageCode: $("vocabulary-new-language").value,
        Words: words,
      });
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      return;
    }
    event.target.reset();
    this.toast(kind === "filter" ? "Vocabulary filter created." : "Vocabulary created.");
    await this.refreshVocabularies();
  }

  async deleteVocabulary(v) {
    if (!confirm(`Delete ${v.Kind === "filter" ? "the vocabulary filter" : "the vocabulary"} "${v.Name}"? Meetings already transcribing with it keep it until they stop.`)) return;
    try {
      await api("DELETE", `/vocabularies/${v.Kind}/${encodeURIComponent(v.Name)}`);
    } catch (error) {
      this.handleError(error);
      return;
    }
    this.toast("Deleted.");
    await this.refreshVocabularies();
  }

  async deleteTranscript(t) {
    const name = t.ExternalMeetingId || "Untitled meeting";
    if (!confirm(`Delete the transcript of "${name}" (${t.ResultCount} results)? It cannot be downloaded again.`)) return;
    try {
      await api("DELETE", `/meetings/${t.MeetingId}/transcript`);
    } catch (error) {
      this.handleError(error);
      return;
    }
    this.toast("Transcript deleted.");
    await this.refreshTranscripts();
  }

  renderMeetings() {
    const list = $("meeting-list");
    list.replaceChildren(
      ...this.meetings.map((m) => {
        const name = m.ExternalMeetingId || "Untitled meeting";
        const state = m.Ended ? "ended" : m.Transcription && m.Transcription.Status === "started" ? "live" : "open";
        const link = element(
          "a",
          { href: `#meeting=${m.MeetingId}`, className: "meeting-link", dataset: { state } },
          element("span", { className: "meeting-name", textContent: name }),
          element("span", { className: `pill ${state}`, textContent: state, title: state === "live" ? "Transcription is on" : "" }),
          m.ConnectedAttendees ? element("span", { className: "muted small connected-count", textContent: `${m.ConnectedAttendees} in` }) : null,
        );
        if (m.MeetingId === this.selected) link.setAttribute("aria-current", "page");
        return element("li", {}, link);
      }),
    );
    $("meeting-list-empty").hidden = this.meetings.length > 0;
  }

  async createMeeting(event) {
    event.preventDefault();
    const input = $("meeting-name");
    const button = $("create-meeting");
    button.disabled = true;
    try {
      const meeting = await api("POST", "/meetings", { ExternalMeetingId: input.value.trim() || undefined });
      input.value = "";
      await this.refreshMeetings();
      location.hash = `meeting=${meeting.MeetingId}`;
    } catch (error) {
      this.handleError(error);
    } finally {
      button.disabled = false;
    }
  }

  async selectFromHash() {
    const id = new URLSearchParams(location.hash.slice(1)).get("meeting");
    const fallback = this.meetings.find((m) => !m.Ended);
    await this.select(id || (fallback && fallback.MeetingId) || null);
  }

  async select(meetingId) {
    if (meetingId === this.selected && this.viewer) return;
    this.closeViewer();
    this.selected = meetingId;
    this.captions.clear();
    $("meeting-error").hidden = true;
    this.renderMeetings();
    if (!meetingId) {
      $("no-meeting").hidden = false;
      $("meeting-view").hidden = true;
      return;
    }
    let summary;
    try {
      summary = await api("GET", `/meetings/${meetingId}`);
    } catch (error) {
      this.handleError(error);
      $("no-meeting").hidden = false;
      $("meeting-view").hidden = true;
      return;
    }
    if (!this.meetings.some((m) => m.MeetingId === meetingId)) await this.refreshMeetings();
    $("no-meeting").hidden = true;
    $("meeting-view").hidden = false;
    $("meeting-title").textContent = summary.ExternalMeetingId || "Untitled meeting";
    $("meeting-id").textContent = meetingId;
    for (const format of ["vtt", "srt", "jsonl"]) {
      $(`download-${format}`).href = `/console/api/meetings/${meetingId}/transcript?format=${format}`;
    }
    this.setEnded(summary.Ended);
    const transcription = summary.Transcription;
    this.transcriptionChanged(transcription ? transcription.Status : "stopped");
    if (transcription && transcription.Status === "failed") {
      this.captions.setBanner({ kind: "failed", title: "Transcription failed", detail: transcription.Message || "" });
    }
    if (!summary.Ended) {
      await this.renderAttendees();
      await this.openViewer(meetingId);
    }
  }

  setEnded(ended) {
    // An ended meeting keeps only what still works: its captions so far and the transcript downloads.
    document.querySelector(".controls").hidden = ended;
    $("delete-meeting").hidden = ended;
    for (const id of ["attendee-name", "add-attendee", "start-transcription", "delete-meeting", "attendee-listen-only"]) {
      $(id).disabled = ended;
    }
    if (ended) {
      $("stop-transcription").disabled = true;
      $("attendee-list").replaceChildren();
      this.setViewerState("ended", "ended");
      if (!this.captions.list.childElementCount) this.captions.empty.hidden = true;
      const kept = this.session && this.session.transcriptRetentionSeconds !== 0;
      this.captions.setBanner({
        kind: "ended",
        title: "Meeting ended",
        detail: kept ? `${this.retentionText()} It downloads below.` : this.retentionText(),
      });
    }
  }

  async deleteMeeting() {
    if (!this.selected) return;
    const id = this.selected;
    const meeting = this.meetings.find((m) => m.MeetingId === id);
    const name = (meeting && meeting.ExternalMeetingId) || "this meeting";
    const question = `End "${name}"? Everyone in it is disconnected and it cannot be joined again. ${this.retentionText()}`;
    if (!confirm(question)) return;
    try {
      await api("DELETE", `/meetings/${id}`);
    } catch (error) {
      this.handleError(error, $("meeting-error"));
      return;
    }
    this.toast("Meeting ended.");
    await this.refreshMeetings();
    await this.refreshTranscripts();
    this.closeViewer();
    this.setEnded(true);
  }

  // -- attendees --------------------------------------------------------------------------------

  async renderAttendees() {
    let attendees;
    try {
      attendees = (await api("GET", `/meetings/${this.selected}/attendees`)).Attendees;
    } catch (error) {
      this.handleError(error, $("meeting-error"));
      return;
    }
    // Polled: rebuild only on a change, so a button under the pointer is not replaced mid-click.
    const seen = JSON.stringify([this.selected, attendees]);
    if (seen === this.attendeesSeen && $("attendee-list").childElementCount) return;
    this.attendeesSeen = seen;
    const rows = attendees
      .map((a) => {
        const listenOnly = a.Capabilities && a.Capabilities.Audio === "Receive";
        const info = element(
          "div",
          { className: "attendee-info" },
          element("span", {
            className: `presence ${a.Connected ? "on" : "off"}`,
            title: a.Connected ? "connected" : "not connected",
            textContent: "●",
          }),
          element("span", { className: "attendee-name", textContent: a.ExternalUserId }),
          listenOnly ? element("span", { className: "pill open", textContent: "listen only" }) : null,
          a.Muted ? element("span", { className: "pill open", textContent: "muted" }) : null,
          a.SharingContent
            ? element("span", { className: "pill live", textContent: "sharing content", title: "its content share is connected" })
            : null,
        );
        const actions = element("div", { className: "attendee-actions" });
        if (a.JoinToken) {
          const url = joinLink(this.selected, a);
          const copy = element("button", { type: "button", className: "button small", textContent: "Copy link" });
          copy.addEventListener("click", () => this.copy(url));
          const open = element("a", {
            className: "button small join-link",
            href: url,
            target: "_blank",
            rel: "noopener",
            textContent: "Open",
            title: "Open the join page in a new tab",
          });
          actions.append(copy, open);
        } else {
          actions.append(element("span", { className: "muted small", textContent: "link not available" }));
        }
        const remove = element("button", { type: "button", className: "icon-button", title: `Remove ${a.ExternalUserId}`, textContent: "×" });
        remove.setAttribute("aria-label", `Remove ${a.ExternalUserId}`);
        remove.addEventListener("click", () => this.removeAttendee(a));
        actions.append(remove);
        return element(
          "li",
          { className: "attendee", dataset: { attendeeId: a.AttendeeId, name: a.ExternalUserId, connected: String(Boolean(a.Connected)) } },
          info,
          actions,
        );
      });
    $("attendee-list").replaceChildren(...rows);
    if (!rows.length) {
      $("attendee-list").append(element("li", { className: "muted small", textContent: "No attendees yet. Add one to get a join link." }));
    }
  }

  async addAttendee(event) {
    event.preventDefault();
    const input = $("attendee-name");
    const name = input.value.trim();
    if (!name) return;
    try {
      await api("POST", `/meetings/${this.selected}/attendees`, {
        ExternalUserId: name,
        Audio: $("attendee-listen-only").checked ? "Receive" : "SendReceive",
      });
      input.value = "";
      await this.renderAttendees();
    } catch (error) {
      this.handleError(error, $("meeting-error"));
    }
  }

  async removeAttendee(attendee) {
    const question = `Remove ${attendee.ExternalUserId}? They are disconnected at once and their join link stops working. What they said stays in the transcript.`;
    if (!confirm(question)) return;
    try {
      await api("DELETE", `/meetings/${this.selected}/attendees/${attendee.AttendeeId}`);
      await this.renderAttendees();
    } catch (error) {
      this.handleError(error, $("meeting-error"));
    }
  }

  async copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      this.toast("Join link copied.");
    } catch {
      window.prompt("Copy this join link:", text);
    }
  }

  // -- transcription ----------------------------------------------------------------------------

  modeChanged() {
    const medical = document.querySelector('input[name="engine"]:checked').value === "medical";
    const identify = document.querySelector('input[name="mode"]:checked').value === "identify";
    $("standard-fields").hidden = medical;
    $("medical-fields").hidden = !medical;
    $("language-field").hidden = identify;
    $("identify-fields").hidden = !identify;
    $("pii-fields").hidden = !$("pii-mode").value;
    $("filter-method-field").hidden = !$("vocabulary-filter-name").value;
    if (this.regionsMedical !== medical) {
      this.regionsMedical = medical;
      this.fillRegions(medical);
    }
  }

  /**
   * The TranscriptionConfiguration the panel describes, exactly as the API takes it: the server validates it
   * with the model and answers the API's own messages, shown under the form.
   */
  transcriptionConfiguration() {
    const region = $("transcribe-region").value;
    if (document.querySelector('input[name="engine"]:checked').value === "medical") {
      const medical = {
        LanguageCode: "en-US",
        Specialty: $("medical-specialty").value,
        Type: $("medical-type").value,
      };
      if ($("medical-phi").checked) medical.ContentIdentificationType = "PHI";
      if ($("medical-vocabulary").value) medical.VocabularyName = $("medical-vocabulary").value;
      if (region) medical.Region = region;
      return { EngineTranscribeMedicalSettings: medical };
    }
    const identify = document.querySelector('input[name="mode"]:checked').value === "identify";
    const settings = {};
    if (identify) {
      const options = [...$("language-options").querySelectorAll("input:checked")].map((box) => box.value);
      settings.IdentifyLanguage = true;
      settings.LanguageOptions = options.join(",");
      const preferred = $("preferred-language").value;
      if (preferred) settings.PreferredLanguage = preferred;
    } else {
      settings.LanguageCode = $("language").value;
    }
    const pii = $("pii-mode").value;
    if (pii) {
      settings[pii === "redact" ? "ContentRedactionType" : "ContentIdentificationType"] = "PII";
      const types = [...$("pii-types").querySelectorAll("input:checked")].map((box) => box.value);
      if (types.length) settings.PiiEntityTypes = types.join(",");
    }
    // With language identification the plural fields name one vocabulary per language (the API's rule).
    const vocabulary = $("vocabulary-name").value;
    if (vocabulary) settings[identify ? "VocabularyNames" : "VocabularyName"] = vocabulary;
    const filter = $("vocabulary-filter-name").value;
    if (filter) {
      settings[identify ? "VocabularyFilterNames" : "VocabularyFilterName"] = filter;
      settings.VocabularyFilterMethod = $("vocabulary-filter-method").value;
    }
    const stability = $("stability").value;
    if (stability) {
      settings.EnablePartialResultsStabilization = true;
      settings.PartialResultsStability = stability;
    }
    if (region) settings.Region = region;
    return { EngineTranscribeSettings: settings };
  }

  async startTranscription(event) {
    event.preventDefault();
    $("meeting-error").hidden = true;
    $("start-transcription").disabled = true;
    try {
      const result = await api("POST", `/meetings/${this.selected}/transcription/start`, {
        TranscriptionConfiguration: this.transcriptionConfiguration(),
      });
      if (result.Status === "failed") {
        this.captions.setBanner({ kind: "failed", title: "Transcription failed", detail: result.Message || "" });
      }
      this.transcriptionChanged(result.Status);
    } catch (error) {
      this.handleError(error, $("meeting-error"));
      $("start-transcription").disabled = false;
    }
  }

  async stopTranscription() {
    $("stop-transcription").disabled = true;
    try {
      await api("POST", `/meetings/${this.selected}/transcription/stop`);
    } catch (error) {
      this.handleError(error, $("meeting-error"));
      $("stop-transcription").disabled = false;
    }
  }

  transcriptionChanged(status) {
    const running = status === "started" || status === "resumed" || status === "interrupted";
    $("start-transcription").textContent = running ? "Update settings" : "Start transcription";
    $("start-transcription").disabled = false;
    $("stop-transcription").disabled = !running;
    const meeting = this.meetings.find((m) => m.MeetingId === this.selected);
    if (meeting) {
      meeting.Transcription = { ...(meeting.Transcription || {}), Status: status };
      this.renderMeetings();
    }
  }

  // -- the console's own captions connection ----------------------------------------------------

  /** Live captions through a read-only subscription (the session cookie authenticates it): the console
   * watches the meeting without joining it, so it never shows up as an attendee. */
  async openViewer(meetingId) {
    if (this.selected !== meetingId) return;
    this.setViewerState("connecting", "connecting…");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/console/api/meetings/${meetingId}/events`);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      if (this.viewer === socket) this.setViewerState("live", "live");
    };
    socket.onmessage = (event) => {
      if (this.viewer !== socket || typeof event.data !== "string") return;
      const message = JSON.parse(event.data);
      if (Array.isArray(message.events)) this.captions.handleEvents(message.events);
    };
    socket.onclose = (event) => {
      if (this.viewer !== socket) return;
      this.viewer = null;
      if (!opened) {
        this.setViewerState("offline", "offline");
        this.captions.setBanner({ kind: "protocol", title: "Captions unavailable", detail: "The server refused the caption stream: reload the page or sign in again." });
        return;
      }
      // 4404: the meeting was already gone when the subscription started.
      const what = describeClose({ code: event.code === 4404 ? 4410 : event.code, reason: event.reason, opened });
      if (what.kind === "meeting-ended") {
        this.setEnded(true);
        this.refreshMeetings();
        this.refreshTranscripts();
      } else {
        this.setViewerState("offline", "offline");
        this.captions.setBanner({ kind: what.kind, title: `Captions: ${what.title}`, detail: what.detail });
      }
    };
    this.viewer = socket;
  }

  closeViewer() {
    const socket = this.viewer;
    this.viewer = null;
    if (socket) socket.close();
    this.setViewerState("offline", "offline");
  }

  setViewerState(state, text) {
    $("viewer-state").dataset.state = state;
    $("viewer-state").textContent = text;
  }

  toast(message, isError = false) {
    const toast = $("toast");
    toast.textContent = message;
    toast.classList.toggle("error", isError);
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (toast.hidden = true), 4000);
  }
}

new Console().start();
