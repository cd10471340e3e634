// The join page: no credentials, only the attendee's join token, read from the URL fragment
// (#meeting=…&token=…&name=…) so it never reaches a server log. A meeting client like any Chime SDK app
// (meeting-client.js): it sends the microphone, plays the meeting, shows the others' cameras and screen shares
// as tiles, can send a camera and share the screen, and shows the meeting's live captions.

import { describeClose } from "./closes.js";
import { CaptionView } from "./captions.js";
import { describeMicError, describeVideoError, openCamera, openMicrophone, watchLevel } from "./devices.js";
import { MeetingClient, isContent, newAudioSessionId } from "./meeting-client.js";

const $ = (id) => document.getElementById(id);
// Pauses before each rejoin in a row (without reaching the meeting in between): 15 s in all, about what a
// restarting server or a meeting moving to another node takes.
const REJOIN_DELAYS_MS = [1000, 2000, 4000, 8000];

class JoinPage {
  constructor() {
    const params = new URLSearchParams(location.hash.slice(1));
    this.meetingId = params.get("meeting") || "";
    this.token = params.get("token") || "";
    this.name = params.get("name") || "";
    this.listenOnlyAttendee = params.get("listen") === "1";
    this.captions = new CaptionView($("captions"));
    this.client = null;
    this.share = null; // the screen share's own connection (the attendee's `#content` session)
    this.meter = null;
    this.stream = null; // the microphone
    this.camera = null; // the camera track sent
    this.screen = null; // the screen track shared
    this.muted = false;
    this.rejoins = 0;
    this.rejoinTimer = null;
    this.restoreCamera = false;
  }

  start() {
    $("join-mic").addEventListener("click", () => this.join(true));
    $("join-listen").addEventListener("click", () => this.join(false));
    $("retry").addEventListener("click", () => this.join(this.lastWithMic));
    $("retry-listen").addEventListener("click", () => this.join(false));
    $("mute").addEventListener("click", () => this.toggleMute());
    $("camera").addEventListener("click", () => this.toggleCamera());
    $("share").addEventListener("click", () => this.toggleShare());
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

  async join(withMic, { rejoin = false } = {}) {
    this.lastWithMic = withMic;
    if (!rejoin) {
      this.rejoins = 0;
      this.audioSessionId = newAudioSessionId();
    }
    this.teardown(rejoin);
    if (!rejoin) this.restoreCamera = false;
    $("problem").hidden = true;
    $("lobby").hidden = true;
    if (withMic) {
      try {
        this.stream = await openMicrophone();
        this.meter = watchLevel(this.stream, (level) => this.showLevel(level));
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
    $("camera").hidden = this.listenOnlyAttendee;
    $("share").hidden = this.listenOnlyAttendee || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    $("audio-format").textContent = withMic ? "Opus · WebRTC" : "listening";
    this.setState("connecting", "connecting…");
    const client = new MeetingClient({
      meetingId: this.meetingId,
      joinToken: this.token,
      microphone: this.stream,
      muted: this.muted,
      audioSessionId: this.audioSessionId,
      onReady: () => this.ready(withMic),
      onEvents: (events) => this.captions.handleEvents(events),
      onSources: (sources) => this.showSources(sources),
      onAudio: (stream) => this.play(stream),
      // A connection replaced by a newer join must not tear the newer one down.
      onClose: (info) => this.client === client && this.closed(info),
    });
    this.client = client;
    client.connect();
  }

  ready(withMic) {
    this.rejoins = 0;
    this.setState("live", withMic ? (this.muted ? "live · muted" : "live · speaking") : "live · listening");
    if (this.restoreCamera) {
      this.restoreCamera = false;
      if (!this.camera) this.toggleCamera();
    }
  }

  closed(info) {
    const what = describeClose(info);
    this.client = null;
    // A server going away (45xx: shutdown, its meeting moving to another node; or a dropped connection) is what
    // the Chime SDK reconnects after; so does the page, with growing pauses, camera and mute as they were.
    // While rejoining, a server not up yet refuses before opening: that is retried too, until the pauses run out.
    const reached = info.opened || this.rejoins > 0;
    const rejoin = reached && (info.code === 1006 || (info.code >= 4500 && info.code < 4600));
    if (rejoin && this.rejoins < REJOIN_DELAYS_MS.length) {
      const sharing = Boolean(this.share);
      this.restoreCamera = this.restoreCamera || Boolean(this.camera);
      this.teardown(true);
      this.setState("connecting", "reconnecting…");
      if (sharing) this.mediaProblem("Screen sharing stopped when the connection dropped. Share again once reconnected.");
      this.rejoinTimer = setTimeout(() => {
        this.rejoinTimer = null;
        this.join(this.lastWithMic, { rejoin: true });
      }, REJOIN_DELAYS_MS[this.rejoins]);
      this.rejoins += 1;
      return;
    }
    this.restoreCamera = false;
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

  mediaProblem(text) {
    $("media-problem").textContent = text || "";
    $("media-problem").hidden = !text;
  }

  play(stream) {
    const audio = $("meeting-audio");
    audio.srcObject = stream;
    audio.play().catch(() => {}); // joined by a click, so playback is allowed; nothing to do if not
  }

  // -- video tiles -------------------------------------------------------------------------------------------

  tile(key, label, kind) {
    let tile = $("tiles").querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = "tile";
      tile.dataset.key = key;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      video.muted = true; // the meeting's sound plays from the one mixed <audio>
      const caption = document.createElement("figcaption");
      tile.append(video, caption);
      $("tiles").append(tile);
    }
    tile.dataset.kind = kind;
    tile.querySelector("figcaption").textContent = label;
    return tile;
  }

  showTile(key, label, kind, track, attendeeId = "") {
    const tile = this.tile(key, label, kind);
    tile.dataset.attendeeId = attendeeId;
    const video = tile.querySelector("video");
    if (!video.srcObject || video.srcObject.getVideoTracks()[0] !== track) video.srcObject = new MediaStream([track]);
    this.updateStage();
  }

  removeTile(key) {
    const tile = $("tiles").querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
    if (tile) tile.remove();
    this.updateStage();
  }

  updateStage() {
    $("stage").hidden = $("tiles").childElementCount === 0;
  }

  /** The others' cameras and screen shares this page receives now. */
  showSources(sources) {
    const keys = new Set();
    for (const source of sources) {
      const key = `stream-${source.streamId}`;
      keys.add(key);
      const content = isContent(source.attendeeId);
      const who = source.externalUserId || source.attendeeId.replace(/#content$/, "");
      this.showTile(key, content ? `${who} · screen` : who, content ? "content" : "camera", source.track, source.attendeeId);
    }
    for (const tile of [...$("tiles").querySelectorAll(".tile")]) {
      if (tile.dataset.key.startsWith("stream-") && !keys.has(tile.dataset.key)) this.removeTile(tile.dataset.key);
    }
  }

  async toggleCamera() {
    if (!this.client) return;
    this.mediaProblem(null);
    if (this.camera) {
      this.stopCamera();
      await this.client.setCamera(null);
      return;
    }
    try {
      this.camera = await openCamera();
    } catch (error) {
      this.mediaProblem(describeVideoError(error, "Camera"));
      return;
    }
    this.camera.addEventListener("ended", () => this.camera && this.toggleCamera());
    this.showTile("self", "You", "self", this.camera);
    this.setPressed("camera", true, "Stop camera");
    await this.client.setCamera(this.camera);
  }

  stopCamera() {
    if (this.camera) this.camera.stop();
    this.camera = null;
    this.removeTile("self");
    this.setPressed("camera", false, "Start camera");
  }

  async toggleShare() {
    if (!this.client) return;
    this.mediaProblem(null);
    if (this.share) {
      this.stopShare();
      return;
    }
    let screen;
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (error) {
      this.mediaProblem(describeVideoError(error, "Screen sharing"));
      return;
    }
    this.screen = screen.getVideoTracks()[0];
    this.screen.addEventListener("ended", () => this.stopShare());
    const main = this.client;
    // The SDK's content share: a second session as the attendee's `#content` attendee, sending only video.
    const share = new MeetingClient({
      meetingId: this.meetingId,
      joinToken: `${this.token}#content`,
      microphone: null,
      receiveVideo: false,
      video: this.screen,
      onPublished: (streamIds) => {
        main.ignoreStreams(streamIds);
        main.holdShares(false);
      },
      onClose: (info) => {
        main.holdShares(false);
        if (this.share !== share) return;
        this.stopShare();
        if (info.code !== 1000) {
          const what = describeClose(info);
          this.mediaProblem(what.kind === "token-invalid" ? "Screen sharing is not allowed for this attendee." : `Screen sharing stopped: ${what.title}.`);
        }
      },
    });
    this.share = share;
    main.holdShares(true);
    this.setPressed("share", true, "Stop sharing");
    share.connect();
  }

  stopShare() {
    const share = this.share;
    this.share = null;
    if (share) share.leave();
    if (this.screen) this.screen.stop();
    this.screen = null;
    this.setPressed("share", false, "Share screen");
  }

  setPressed(id, pressed, text) {
    $(id).textContent = text;
    $(id).setAttribute("aria-pressed", String(pressed));
  }

  // -- audio -------------------------------------------------------------------------------------------------

  toggleMute() {
    if (!this.stream || !this.client) return;
    this.muted = !this.muted;
    // A disabled track sends silence; the server hears the mute (presence) and ends the utterance.
    this.client.setMuted(this.muted);
    $("mute").textContent = this.muted ? "Unmute" : "Mute";
    $("mute").setAttribute("aria-pressed", String(this.muted));
    this.setState("live", this.muted ? "live · muted" : "live · speaking");
  }

  leave() {
    if (this.rejoinTimer) {
      clearTimeout(this.rejoinTimer);
      this.rejoinTimer = null;
      this.rejoins = 0;
      this.closed({ code: 1000, reason: "left", opened: true });
      return;
    }
    if (this.share) this.stopShare();
    if (this.client) this.client.leave(); // the server finalizes what was said, answers LEAVE_ACK, and it closes
  }

  /** Release the devices and the connection; `rejoining` keeps the mute and the media notice for the next join. */
  teardown(rejoining = false) {
    if (this.share) this.stopShare();
    this.stopCamera();
    if (this.meter) this.meter.stop();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    const client = this.client;
    this.client = null; // first: its close must not report back here
    if (client) client.close();
    this.meter = null;
    this.stream = null;
    $("tiles").replaceChildren();
    this.updateStage();
    if (!rejoining) {
      this.mediaProblem(null);
      this.muted = false;
    }
    $("meeting-audio").srcObject = null;
    $("mute").textContent = this.muted ? "Unmute" : "Mute";
    $("mute").setAttribute("aria-pressed", String(this.muted));
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
