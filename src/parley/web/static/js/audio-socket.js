// The attendee audio socket (docs/protocol.md §1): subprotocols ["parley-audio-v1", JoinToken], a JSON
// start message, `ready`, then JSON event frames {"events": [...]}. Audio, when declared, goes up as
// binary frames.

const SUBPROTOCOL = "parley-audio-v1";
const MAX_BUFFERED_BYTES = 1 << 20; // beyond this the network is not keeping up: drop audio, not the call

/** The socket URL of a meeting on this server (same origin as the page). */
export function callsUrl(meetingId) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/calls/${encodeURIComponent(meetingId)}`;
}

export class MeetingSocket {
  /**
   * @param {object} options
   * @param {string} options.meetingId
   * @param {string} options.joinToken
   * @param {object} [options.audio] the start message's `audio` ({format: "none"} to only listen)
   * @param {(ready: object) => void} [options.onReady]
   * @param {(events: object[]) => void} [options.onEvents]
   * @param {(info: {code: number, reason: string, opened: boolean}) => void} [options.onClose]
   */
  constructor({ meetingId, joinToken, audio = { format: "none" }, onReady, onEvents, onClose }) {
    this.meetingId = meetingId;
    this.joinToken = joinToken;
    this.audio = audio;
    this.onReady = onReady || (() => {});
    this.onEvents = onEvents || (() => {});
    this.onClose = onClose || (() => {});
    this.ws = null;
    this.opened = false;
    this.ready = false;
    this.pending = [];
    this.pendingBytes = 0;
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(callsUrl(this.meetingId), [SUBPROTOCOL, this.joinToken]);
    } catch (error) {
      // A token that is not even a valid subprotocol token: the server would refuse it anyway.
      queueMicrotask(() => this.onClose({ code: 1006, reason: String(error.message || error), opened: false }));
      return this;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.opened = true;
      ws.send(JSON.stringify({ type: "start", audio: this.audio, events: "json" }));
    };
    ws.onmessage = (event) => this.handleMessage(event.data);
    ws.onclose = (event) => {
      this.ready = false;
      this.onClose({ code: event.code, reason: event.reason, opened: this.opened });
    };
    return this;
  }

  handleMessage(data) {
    if (typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "ready") {
      this.ready = true;
      this.onReady(message);
      for (const chunk of this.pending) this.ws.send(chunk);
      this.pending = [];
      this.pendingBytes = 0;
    } else if (Array.isArray(message.events)) {
      this.onEvents(message.events);
    }
  }

  /** Send one chunk of audio; held until `ready`, dropped if the connection falls behind. */
  sendAudio(chunk) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.ready) {
      if (this.pendingBytes + chunk.byteLength <= MAX_BUFFERED_BYTES && (!this.ws || this.ws.readyState <= WebSocket.OPEN)) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.byteLength;
      }
      return;
    }
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) return;
    this.ws.send(chunk);
  }

  /** "I am done": the server finalizes what this attendee said, then closes with 1000. */
  stop() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "stop" }));
  }

  close() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}

/**
 * What a close means to a person. `kind` is a stable tag for styling and tests; `final` is true
 * when reconnecting cannot help.
 */
export function describeClose({ code, reason, opened }) {
  if (!opened) {
    return {
      kind: "token-invalid",
      title: "Join link not valid",
      detail:
        "Token invalid: the server refused this link. It may be mistyped, the attendee removed, or the meeting already over. Ask the organizer for a new link.",
      final: true,
    };
  }
  switch (code) {
    case 1000:
      return { kind: "left", title: "You left the meeting", detail: "", final: false };
    case 4410:
      return { kind: "meeting-ended", title: "Meeting ended", detail: "The organizer ended this meeting. Thanks for joining.", final: true };
    case 4411:
      return { kind: "removed", title: "Removed from the meeting", detail: "The organizer removed you from this meeting.", final: true };
    case 4301:
      return {
        kind: "replaced",
        title: "Joined from another tab or device",
        detail: "This attendee connected again somewhere else, so this window was disconnected.",
        final: false,
      };
    case 4403:
      return { kind: "forbidden", title: "Not allowed to speak", detail: reason || "This attendee may only listen.", final: false };
    case 4400:
    case 4413:
      return { kind: "protocol", title: "Audio problem", detail: reason || "The server could not use the audio from this browser.", final: false };
    case 4429:
      return { kind: "slow", title: "Connection too slow", detail: "Captions arrived faster than this browser could read them.", final: false };
    case 1011:
      return { kind: "server", title: "Server error", detail: reason || "The server hit an internal error.", final: false };
    default:
      return { kind: "lost", title: "Connection lost", detail: reason || `The connection closed (code ${code}).`, final: false };
  }
}
