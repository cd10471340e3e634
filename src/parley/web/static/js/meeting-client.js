// The join page's meeting connection: Chime SDK signaling (MediaPlacement.SignalingUrl, docs/chime-js.md) and one
// WebRTC peer connection, as amazon-chime-sdk-js uses them, so the page is a meeting client like any Chime app:
// it hears the meeting's mix, sends its microphone and camera, receives the cameras and screen shares of the
// others (parley forwards them), and reads live transcription from the `aws:chime:transcription` data messages.
//
// The SDK itself is not used: it needs a bundler, and the page is plain modules. What this speaks is the subset
// of the protocol parley serves (JOIN, INDEX, SUBSCRIBE/SUBSCRIBE_ACK, AUDIO_CONTROL, AUDIO_STATUS, DATA_MESSAGE,
// LEAVE), encoded with the same .proto as the server (signaling-schema.js).

import { decode, encode, enumValue } from "./protobuf.js";
import { transcriptEvents } from "./transcript-events.js";

const SUBPROTOCOL = "_aws_wt_session";
const FRAME_TYPE_RTC = 0x05;
const TRANSCRIPTION_TOPIC = "aws:chime:transcription";
const HAS_STREAM_UPDATE = 2; // SdkJoinFlags: the SDK's own JOIN flags
const ICE_GATHERING_WAIT_MS = 3000; // the offer goes out whole (no trickle ICE), at most this late
// AUDIO_STATUS codes end the session as the audio socket's close codes would (describeClose in closes.js).
const CLOSE_FOR_AUDIO_STATUS = { 410: 4410, 411: 4411, 301: 4301, 403: 4403 };
// The page's own outcome when ICE fails (no UDP path to parley's media, and no TURN): never sent by a server.
export const MEDIA_UNREACHABLE = 4900;

const T = (name) => enumValue("SdkSignalFrame.Type", name);
const FRAME = {
  JOIN: T("JOIN"),
  JOIN_ACK: T("JOIN_ACK"),
  SUBSCRIBE: T("SUBSCRIBE"),
  SUBSCRIBE_ACK: T("SUBSCRIBE_ACK"),
  INDEX: T("INDEX"),
  LEAVE: T("LEAVE"),
  LEAVE_ACK: T("LEAVE_ACK"),
  AUDIO_CONTROL: T("AUDIO_CONTROL"),
  AUDIO_STATUS: T("AUDIO_STATUS"),
  PING_PONG: T("PING_PONG"),
  DATA_MESSAGE: T("DATA_MESSAGE"),
};
const AUDIO = enumValue("SdkStreamMediaType", "AUDIO");
const VIDEO = enumValue("SdkStreamMediaType", "VIDEO");
const RX = enumValue("SdkStreamServiceType", "RX");
const DUPLEX = enumValue("SdkStreamServiceType", "DUPLEX");
const PING = enumValue("SdkPingPongType", "PING");
const PONG = enumValue("SdkPingPongType", "PONG");

/** A random uint32, as the SDK picks one per meeting session. */
export function newAudioSessionId() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** The signaling URL of a meeting on this server (same origin as the page). */
export function signalingUrl(meetingId) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/control/${encodeURIComponent(meetingId)}`;
}

/** An attendee id with the content-share suffix is that attendee's screen share (the SDK's convention). */
export function isContent(attendeeId) {
  return attendeeId.endsWith("#content");
}

// -- the connection ---------------------------------------------------------------------------------------------

export class MeetingClient {
  /**
   * @param {object} options
   * @param {string} options.meetingId
   * @param {string} options.joinToken (`<token>#content` joins as the attendee's screen share)
   * @param {MediaStream|null} [options.microphone] sent as the attendee's audio; null to listen only
   * @param {boolean} [options.muted] join muted
   * @param {number} [options.audioSessionId] the JOIN's audio_session_id: the same for a rejoin of the same page,
   *   so that the server takes it for this client reconnecting rather than another device
   * @param {boolean} [options.receiveVideo] subscribe to the others' cameras and shares (default true)
   * @param {MediaStreamTrack|null} [options.video] a video track to send from the start (a screen share's)
   * @param {() => void} [options.onReady] media is up: the attendee is in the meeting
   * @param {(events: object[]) => void} [options.onEvents] transcription events
   * @param {(sources: object[]) => void} [options.onSources] the video sources this client receives:
   *   [{streamId, attendeeId, externalUserId, track}], each time they change
   * @param {(stream: MediaStream) => void} [options.onAudio] the meeting's mix, once it arrives
   * @param {(streamIds: number[]) => void} [options.onPublished] the stream ids this client's video goes out as
   * @param {(info: {code: number, reason: string, opened: boolean}) => void} [options.onClose]
   */
  constructor(options) {
    this.meetingId = options.meetingId;
    this.joinToken = options.joinToken;
    this.microphone = options.microphone || null;
    this.receiveVideo = options.receiveVideo !== false;
    this.onReady = options.onReady || (() => {});
    this.onEvents = options.onEvents || (() => {});
    this.onSources = options.onSources || (() => {});
    this.onAudio = options.onAudio || (() => {});
    this.onPublished = options.onPublished || (() => {});
    this.onClose = options.onClose || (() => {});
    this.ws = null;
    this.pc = null;
    this.opened = false;
    this.closed = false;
    this.ready = false;
    this.iceServers = [];
    this.sources = new Map(); // streamId → INDEX source descriptor
    this.ownStreams = new Set(); // stream ids this attendee publishes (SUBSCRIBE_ACK allocations), never received
    this.holdingShares = false; // see holdShares
    this.camera = options.video || null; // the video track sent, or null
    this.cameraTransceiver = null;
    this.receivers = []; // [{transceiver, streamId}] for remote video, in offer order after the camera slot
    this.negotiating = false;
    this.again = false; // a change came while negotiating: negotiate once more after the answer
    this.audioSessionId = options.audioSessionId ?? newAudioSessionId();
    this.muted = Boolean(options.muted);
    if (this.microphone) for (const track of this.microphone.getAudioTracks()) track.enabled = !this.muted;
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(signalingUrl(this.meetingId), [SUBPROTOCOL, this.joinToken]);
    } catch (error) {
      // A token that is not even a valid subprotocol token: the server would refuse it anyway.
      queueMicrotask(() => this.finish({ code: 1006, reason: String(error.message || error) }));
      return this;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.opened = true;
      this.send(FRAME.JOIN, "join", {
        protocol_version: 2,
        flags: HAS_STREAM_UPDATE,
        client_details: { app_name: "parley join page", client_source: "parley" },
        audio_session_id: this.audioSessionId,
      });
    };
    ws.onmessage = (event) => this.receive(new Uint8Array(event.data)).catch((error) => this.fail(error));
    ws.onclose = (event) => this.finish({ code: event.code, reason: event.reason });
    return this;
  }

  send(type, field, payload) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const frame = encode("SdkSignalFrame", { timestamp_ms: Date.now(), type, [field]: payload });
    const message = new Uint8Array(frame.length + 1);
    message[0] = FRAME_TYPE_RTC;
    message.set(frame, 1);
    this.ws.send(message);
  }

  async receive(message) {
    if (message.length < 1) return;
    const frame = decode("SdkSignalFrame", message.subarray(1));
    switch (frame.type) {
      case FRAME.JOIN_ACK: {
        const turn = frame.joinack && frame.joinack.turn_credentials;
        if (turn && turn.uris.length) {
          this.iceServers = [{ urls: turn.uris, username: turn.username, credential: turn.password }];
        }
        break;
      }
      case FRAME.INDEX:
        this.index(frame.index || { sources: [] });
        break;
      case FRAME.SUBSCRIBE_ACK:
        await this.answered(frame.suback || {});
        break;
      case FRAME.AUDIO_STATUS: {
        const code = CLOSE_FOR_AUDIO_STATUS[(frame.audio_status || {}).audio_status];
        if (code) {
          this.send(FRAME.LEAVE, "leave", {}); // as the SDK answers a terminal status
          this.end(code, "");
        }
        break;
      }
      case FRAME.PING_PONG:
        if (frame.ping_pong && frame.ping_pong.type === PING) {
          this.send(FRAME.PING_PONG, "ping_pong", { type: PONG, ping_id: frame.ping_pong.ping_id });
        }
        break;
      case FRAME.DATA_MESSAGE:
        for (const payload of (frame.data_message || { messages: [] }).messages) {
          if (payload.topic === TRANSCRIPTION_TOPIC && payload.data) this.onEvents(transcriptEvents(payload.data));
        }
        break;
      case FRAME.LEAVE_ACK:
        this.end(1000, "left");
        break;
      default:
        break; // AUDIO_STREAM_ID_INFO, AUDIO_METADATA, BITRATES: the page shows no roster or meters from them
    }
  }

  /** INDEX lists the meeting's video sources: subscribe to those this page shows. */
  index(index) {
    this.sources = new Map();
    for (const source of index.sources) {
      if (source.media_type === VIDEO) this.sources.set(source.stream_id, source);
    }
    if (!this.pc) {
      this.pc = this.createPeerConnection();
      this.negotiate();
      return;
    }
    this.refresh();
  }

  /** Negotiate again if the streams this client wants are not the ones it receives. */
  refresh() {
    if (!this.pc) return;
    const receiving = this.receivers.map((r) => r.streamId).filter(Boolean);
    if (this.wantedStreams().join() !== receiving.sort((a, b) => a - b).join()) this.negotiate();
  }

  wantedStreams() {
    if (!this.receiveVideo) return [];
    return [...this.sources.entries()]
      .filter(([id, source]) => !this.ownStreams.has(id) && !(this.holdingShares && isContent(source.attendee_id || "")))
      .map(([id]) => id)
      .sort((a, b) => a - b);
  }

  createPeerConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    const audio = pc.addTransceiver("audio", { direction: this.microphone ? "sendrecv" : "recvonly" });
    if (this.microphone) {
      const track = this.microphone.getAudioTracks()[0];
      audio.sender.replaceTrack(track);
    }
    // The first video section is this attendee's own camera slot (receive_stream_ids[0] is 0 for it).
    this.cameraTransceiver = pc.addTransceiver("video", { direction: "inactive" });
    pc.ontrack = (event) => {
      if (event.track.kind === "audio") this.onAudio(new MediaStream([event.track]));
    };
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (!this.ready && (state === "connected" || state === "completed")) {
        this.ready = true;
        this.onReady();
      } else if (state === "failed") {
        this.end(MEDIA_UNREACHABLE, "no network path to the server's media");
      }
    };
    return pc;
  }

  /** Send a SUBSCRIBE for what this client sends and wants now; a failure ends the session (never unhandled). */
  negotiate() {
    return this.subscribe().catch((error) => this.fail(error));
  }

  /** One negotiation at a time: a change meanwhile is picked up when its answer is in. */
  async subscribe() {
    if (this.negotiating) {
      this.again = true;
      return;
    }
    this.negotiating = true;
    this.again = false;
    try {
      const pc = this.pc;
      const wanted = this.wantedStreams();
      // Keep each stream on the section it has; free sections of streams that left; add sections as needed.
      const kept = new Set(wanted);
      for (const r of this.receivers) {
        if (r.streamId && !kept.has(r.streamId)) r.streamId = 0;
      }
      const placed = new Set(this.receivers.map((r) => r.streamId));
      for (const streamId of wanted) {
        if (placed.has(streamId)) continue;
        let slot = this.receivers.find((r) => r.streamId === 0);
        if (!slot) {
          slot = { transceiver: pc.addTransceiver("video", { direction: "recvonly" }), streamId: 0 };
          this.receivers.push(slot);
        }
        slot.streamId = streamId;
      }
      for (const r of this.receivers) r.transceiver.direction = r.streamId ? "recvonly" : "inactive";
      this.cameraTransceiver.direction = this.camera ? "sendonly" : "inactive";
      await this.cameraTransceiver.sender.replaceTrack(this.camera);

      await pc.setLocalDescription(await pc.createOffer());
      await this.gathered(pc);
      const sendStreams = [];
      if (this.microphone) {
        sendStreams.push({
          media_type: AUDIO,
          track_label: "AmazonChimeExpressAudio",
          stream_id: 1,
          group_id: 1,
        });
      }
      if (this.camera) {
        const settings = this.camera.getSettings();
        sendStreams.push({
          media_type: VIDEO,
          track_label: "AmazonChimeExpressVideo",
          stream_id: 2,
          group_id: 2,
          framerate: Math.round(settings.frameRate || 15),
          max_bitrate_kbps: 1400,
        });
      }
      this.send(FRAME.SUBSCRIBE, "sub", {
        duplex: this.camera ? DUPLEX : RX,
        send_streams: sendStreams,
        receive_stream_ids: [0, ...this.receivers.map((r) => r.streamId)],
        sdp_offer: pc.localDescription.sdp,
        audio_host: location.host,
        audio_checkin: false,
        audio_muted: this.muted,
      });
    } catch (error) {
      this.negotiating = false;
      throw error;
    }
  }

  gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        pc.removeEventListener("icegatheringstatechange", check);
        clearTimeout(timer);
        resolve();
      };
      const check = () => pc.iceGatheringState === "complete" && done();
      const timer = setTimeout(done, ICE_GATHERING_WAIT_MS);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  async answered(ack) {
    if (!this.pc || !ack.sdp_answer) return;
    await this.pc.setRemoteDescription({ type: "answer", sdp: ack.sdp_answer });
    this.negotiating = false;
    const published = ack.allocations.map((a) => a.stream_id);
    for (const id of published) this.ownStreams.add(id);
    if (published.length) this.onPublished(published);
    this.onSources(
      this.receivers
        .filter((r) => r.streamId && this.sources.has(r.streamId))
        .map((r) => {
          const source = this.sources.get(r.streamId);
          return {
            streamId: r.streamId,
            attendeeId: source.attendee_id || "",
            externalUserId: source.external_user_id || "",
            track: r.transceiver.receiver.track,
          };
        }),
    );
    if (this.again) await this.negotiate();
  }

  /** Never receive these streams (the same attendee's screen share, published by its own connection). */
  ignoreStreams(streamIds) {
    for (const id of streamIds) this.ownStreams.add(id);
    this.refresh();
  }

  /**
   * While this attendee's own share connection is starting, receive no screen share at all: INDEX lists the new
   * share to everyone before its connection learns its stream ids (SUBSCRIBE_ACK), and without the hold this
   * page would subscribe to its own screen for a moment.
   */
  holdShares(hold) {
    this.holdingShares = hold;
    this.refresh();
  }

  /** Send `track` (a camera or screen video track) on this connection, or stop sending (null). */
  async setCamera(track) {
    this.camera = track;
    if (this.pc) await this.negotiate();
  }

  setMuted(muted) {
    this.muted = muted;
    if (this.microphone) for (const track of this.microphone.getAudioTracks()) track.enabled = !muted;
    this.send(FRAME.AUDIO_CONTROL, "audio_control", { muted });
  }

  /** Leave the meeting: the server finalizes what this attendee said, answers LEAVE_ACK, and the socket closes. */
  leave() {
    this.send(FRAME.LEAVE, "leave", {});
    setTimeout(() => this.end(1000, "left"), 3000);
  }

  /** Close with `code` as the outcome the page reports (AUDIO_STATUS and LEAVE_ACK end the session this way). */
  end(code, reason) {
    const opened = this.opened;
    this.teardown();
    this.finish({ code, reason, opened });
  }

  fail(error) {
    console.error("meeting connection failed", error);
    this.end(4400, String((error && error.message) || error));
  }

  teardown() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      this.ws.onclose = null;
      this.ws.close(1000);
    }
    if (this.pc) this.pc.close();
    this.pc = null;
  }

  finish({ code, reason, opened = this.opened }) {
    if (this.closed) return;
    this.closed = true;
    this.teardown();
    this.onClose({ code, reason, opened });
  }

  close() {
    this.end(1000, "closed");
  }
}
