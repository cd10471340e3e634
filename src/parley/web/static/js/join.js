// The join page: no credentials, only the attendee's join token, read from the URL fragment
// (#meeting=…&token=…&name=…) so it never reaches a server log. Streams the microphone and shows
// the meeting's live captions.

import { MeetingSocket, describeClose } from "./audio-socket.js";
import { CaptionView } from "./captions.js";
import { describeMicError, openMicrophone, startCapture } from "./microphone.js";

const $ = (id) => document.getElementById(id);

class JoinPage {
  constructor() {
    const params = new URLSearchParams(location.hash.slice(1));
    this.meetingId = params.get("meeting") || "";
    this.token = params.get("token") || "";
    this.name = params.get("name") || "";
    this.listenOnlyAttendee = params.get("listen") === "1";
    this.captions = new CaptionView($("captions"));
    this.socket = null;
    this.capture = null;
    this.stream = null;
    this.muted = false;
  }

  start() {
    $("join-mic").addEventListener("click", () => this.join(true));
    $("join-listen").addEventListener("click", () => this.join(false));
    $("retry").addEventListener("click", () => this.join(this.lastWithMic));
    $("retry-listen").addEventListener("click", () => this.join(false));
    $("mute").addEventListener("click", () => this.toggleMute());
    $("leave").addEventListener("click", () => this.leave());
    window.addEventListener("pagehide", () => this.teardown());
    if (!this.meetingId || !this.token) {
      $("lobby").hidden = true;
      this.problem({
        kind: "bad-link",
        title: "This join link is incomplete",
        detail: "Token invalid or missing: open the full link the organizer sent you.",
      });
      return;
    }
    const meetingLabel = `Meeting ${this.meetingId.slice(0, 8)}`;
    $("meeting-label").textContent = this.name ? `${meetingLabel} · ${this.name}` : meetingLabel;
    if (this.name) {
      $("lobby-title").textContent = `Join as ${this.name}`;
      document.title = `${this.name} · Join meeting · parley`;
    }
    if (this.listenOnlyAttendee) {
      $("join-mic").hidden = true;
      $("lobby-detail").textContent = "You are invited to listen and read live captions.";
      $("join-listen").classList.add("primary");
    }
  }

  async join(withMic) {
    this.lastWithMic = withMic;
    this.teardown();
    $("problem").hidden = true;
    $("lobby").hidden = true;
    let audio = { format: "none" };
    if (withMic) {
      try {
        this.stream = await openMicrophone();
        this.capture = await startCapture(
          this.stream,
          (chunk) => this.socket && this.socket.sendAudio(chunk),
          (level) => this.showLevel(level),
        );
        audio = this.capture.audio;
      } catch (error) {
        this.teardown();
        this.problem({ kind: "mic-denied", title: "Microphone unavailable", detail: describeMicError(error) }, { retry: true, listen: true });
        return;
      }
    }
    $("call-bar").hidden = false;
    $("captions").hidden = false;
    $("mute").hidden = !withMic;
    $("meter").hidden = !withMic;
    $("audio-format").textContent = withMic
      ? audio.format === "pcm16" ? `PCM ${+(audio.sampleRate / 1000).toFixed(1)} kHz` : "Opus"
      : "listening";
    this.setState("connecting", "connecting…");
    const socket = new MeetingSocket({
      meetingId: this.meetingId,
      joinToken: this.token,
      audio,
      onReady: () => this.setState("live", withMic ? "live · speaking" : "live · listening"),
      onEvents: (events) => this.captions.handleEvents(events),
      // A socket replaced by a newer join must not tear the newer one down.
      onClose: (info) => this.socket === socket && this.closed(info),
    });
    this.socket = socket;
    socket.connect();
  }

  closed(info) {
    const what = describeClose(info);
    this.socket = null;
    this.teardown();
    this.setState("offline", "disconnected");
    $("call-bar").hidden = true;
    if (what.kind === "left") {
      this.problem({ kind: "left", title: "You left the meeting", detail: "Captions so far stay on this page." }, { retry: true });
      return;
    }
    if (what.final) $("captions").hidden = !this.captions.list.childElementCount;
    this.problem(what, { retry: !what.final });
  }

  problem({ kind, title, detail }, { retry = false, listen = false } = {}) {
    const box = $("problem");
    box.dataset.kind = kind;
    $("problem-title").textContent = title;
    $("problem-detail").textContent = detail;
    $("retry").hidden = !retry;
    $("retry").textContent = kind === "replaced" ? "Use this window" : kind === "left" ? "Rejoin" : "Try again";
    $("retry-listen").hidden = !listen || this.listenOnlyAttendee;
    box.hidden = false;
  }

  toggleMute() {
    if (!this.stream) return;
    this.muted = !this.muted;
    // A disabled track yields silence: the server keeps its timeline and ends the utterance.
    for (const track of this.stream.getAudioTracks()) track.enabled = !this.muted;
    $("mute").textContent = this.muted ? "Unmute" : "Mute";
    $("mute").setAttribute("aria-pressed", String(this.muted));
    this.setState("live", this.muted ? "live · muted" : "live · speaking");
  }

  leave() {
    if (this.socket) {
      this.socket.stop(); // the server finalizes what was said, then closes with 1000
      setTimeout(() => this.socket && this.socket.close(), 3000);
    }
    if (this.capture) this.capture.stop();
    this.capture = null;
  }

  teardown() {
    if (this.capture) this.capture.stop();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.socket) this.socket.close();
    this.capture = null;
    this.stream = null;
    this.socket = null;
    this.muted = false;
    $("mute").textContent = "Mute";
    this.showLevel(0);
  }

  setState(state, text) {
    $("call-state").dataset.state = state;
    $("call-state").textContent = text;
  }

  showLevel(level) {
    $("meter-level").style.transform = `scaleX(${this.muted ? 0 : level.toFixed(3)})`;
  }
}

new JoinPage().start();
