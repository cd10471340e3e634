// A minimal Chime SDK app, built only on the SDK's public API: join with the CreateMeeting/CreateAttendee
// responses, and record what the app would show (connection state, presence, volume indicators, data
// messages, transcription). The test drives it through window.parley* and reads window.parley
// (tests/signaling/test_chime_js_e2e.py).
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  VideoPriorityBasedPolicy,
} from "amazon-chime-sdk-js";
import "./pixels.js";

const CHAT_TOPICS = ["chat"];

const state = {
  started: false, // audioVideoDidStart fired at least once
  starts: 0, // audioVideoDidStart count: a reconnect fires it again
  connecting: [], // audioVideoDidStartConnecting(reconnecting) arguments, in order
  stopped: null, // audioVideoDidStop status code
  presence: [], // realtimeSubscribeToAttendeeIdPresence callbacks, in order
  volumes: {}, // attendeeId → {max, count, muted} from realtimeSubscribeToVolumeIndicator
  messages: [], // realtimeSubscribeToReceiveDataMessage deliveries
  events: [], // transcription events
  inbound: null, // the downlink's inbound-rtp audio stats, from the SDK's metrics (every second)
  videoFramesReceived: 0, // inbound-rtp video framesReceived, summed over remote streams (every second)
  tiles: {}, // tileId → the latest videoTileDidUpdate state (and removed: true after videoTileWasRemoved)
  tileEvents: [], // {event: "update" | "removed", tileId, attendeeId, ...} in order
  contentShare: [], // "started" | "stopped": this client's own content share, from its observer
};
window.parley = state;

window.parleyJoin = async (meeting, attendee, options = {}) => {
  const logger = new ConsoleLogger("parley", LogLevel.WARN);
  const configuration = new MeetingSessionConfiguration(meeting, attendee);
  if (options.signalingFrom && options.signalingTo) {
    // The SDK's documented hook for reaching Chime's URLs through a proxy; used for the signaling socket.
    configuration.urls.urlRewriter = (url) => (url ? url.replace(options.signalingFrom, options.signalingTo) : url);
  }
  if (options.simulcast) configuration.enableSimulcastForUnifiedPlanChromiumBasedBrowsers = true;
  if (options.priorityPolicy) {
    // What the SDK's demo app uses: subscriptions by priority within the downlink bandwidth estimate.
    configuration.videoDownlinkBandwidthPolicy = new VideoPriorityBasedPolicy(logger);
  }
  const devices = new DefaultDeviceController(logger);
  const session = new DefaultMeetingSession(configuration, logger, devices);
  const av = session.audioVideo;
  av.addObserver({
    audioVideoDidStartConnecting: (reconnecting) => { state.connecting.push(reconnecting); },
    audioVideoDidStart: () => { state.started = true; state.starts += 1; },
    audioVideoDidStop: (status) => { state.stopped = status.statusCode(); },
    videoTileDidUpdate: (tile) => {
      if (!tile.tileId) return;
      const entry = {
        tileId: tile.tileId,
        attendeeId: tile.boundAttendeeId,
        externalUserId: tile.boundExternalUserId,
        localTile: tile.localTile,
        isContent: tile.isContent,
        paused: tile.paused,
        active: tile.active,
        streamId: tile.streamId,
      };
      state.tiles[tile.tileId] = entry;
      state.tileEvents.push({ event: "update", ...entry });
      if (!tile.localTile && !document.getElementById(`tile-${tile.tileId}`)) {
        // What an app does with a remote tile: bind it to a <video> element.
        const video = document.createElement("video");
        video.id = `tile-${tile.tileId}`;
        video.muted = true;
        video.autoplay = true;
        video.playsInline = true;
        document.body.appendChild(video);
        av.bindVideoElement(tile.tileId, video);
      }
    },
    videoTileWasRemoved: (tileId) => {
      const entry = { ...(state.tiles[tileId] ?? { tileId }), removed: true };
      state.tiles[tileId] = entry;
      state.tileEvents.push({ event: "removed", ...entry });
      document.getElementById(`tile-${tileId}`)?.remove();
    },
    metricsDidReceive: (report) => {
      let frames = 0;
      report.getRTCStatsReport().forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesReceived ?? 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          state.inbound = {
            packetsReceived: s.packetsReceived ?? 0,
            bytesReceived: s.bytesReceived ?? 0,
            totalAudioEnergy: s.totalAudioEnergy ?? 0,
          };
        }
      });
      state.videoFramesReceived = frames;
    },
  });
  const watched = new Set();
  av.realtimeSubscribeToAttendeeIdPresence((attendeeId, present, externalUserId, dropped) => {
    state.presence.push({ attendeeId, present, externalUserId, dropped });
    if (present && !watched.has(attendeeId)) {
      // What apps do to draw a speaking indicator per attendee.
      watched.add(attendeeId);
      av.realtimeSubscribeToVolumeIndicator(attendeeId, (id, volume, muted) => {
        const entry = (state.volumes[id] ??= { max: 0, count: 0, muted: null });
        if (volume !== null) {
          entry.max = Math.max(entry.max, volume);
          entry.count += 1;
        }
        if (muted !== null) entry.muted = muted;
      });
    }
  });
  for (const topic of CHAT_TOPICS) {
    av.realtimeSubscribeToReceiveDataMessage(topic, (message) => {
      state.messages.push({
        topic: message.topic,
        text: message.text(),
        senderAttendeeId: message.senderAttendeeId,
        senderExternalUserId: message.senderExternalUserId,
        throttled: message.throttled,
        timestampMs: message.timestampMs,
      });
    });
  }
  av.transcriptionController.subscribeToTranscriptEvent((event) => {
    if (event.type !== undefined) {
      state.events.push({ kind: "status", type: event.type });
      return;
    }
    for (const result of event.results) {
      const alternative = result.alternatives[0];
      state.events.push({
        kind: "transcript",
        resultId: result.resultId,
        isPartial: result.isPartial,
        startTimeMs: result.startTimeMs,
        transcript: alternative.transcript,
        items: alternative.items.map((i) => ({
          content: i.content,
          attendeeId: i.attendee.attendeeId,
          externalUserId: i.attendee.externalUserId,
        })),
      });
    }
  });
  av.addContentShareObserver({
    contentShareDidStart: () => { state.contentShare.push("started"); },
    contentShareDidStop: () => { state.contentShare.push("stopped"); },
  });
  const inputs = await av.listAudioInputDevices();
  await av.startAudioInput(inputs[0].deviceId);
  av.bindAudioElement(document.getElementById("audio"));
  av.start();
  window.parleySession = session;
};

window.parleyMute = () => window.parleySession.audioVideo.realtimeMuteLocalAudio();

window.parleySend = (topic, text, lifetimeMs) =>
  window.parleySession.audioVideo.realtimeSendDataMessage(topic, text, lifetimeMs);

// Many messages at once, as a runaway app would send them.
window.parleyFlood = (topic, count) => {
  for (let i = 0; i < count; i++) window.parleySession.audioVideo.realtimeSendDataMessage(topic, `flood ${i}`, 0);
};

window.parleyStop = () => window.parleySession.audioVideo.stop();

// The camera: the fake capture device (a Y4M file the test wrote) as the local video tile.
window.parleyStartVideo = async () => {
  const av = window.parleySession.audioVideo;
  const cameras = await av.listVideoInputDevices();
  await av.startVideoInput(cameras[0].deviceId);
  av.startLocalVideoTile();
};

window.parleyStopVideo = async () => {
  const av = window.parleySession.audioVideo;
  av.stopLocalVideoTile();
  await av.stopVideoInput();
};

// Content share from a canvas painted one solid colour (what getDisplayMedia would give, without a picker).
window.parleyShareContent = async (rgb) => {
  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 360;
  const paint = () => {
    const g = canvas.getContext("2d");
    g.fillStyle = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
    g.fillRect(0, 0, canvas.width, canvas.height);
  };
  paint();
  window.parleyPainter = setInterval(paint, 100); // a canvas stream only produces frames when painted
  await window.parleySession.audioVideo.startContentShare(canvas.captureStream(15));
};

window.parleyStopContent = () => {
  clearInterval(window.parleyPainter);
  window.parleySession.audioVideo.stopContentShare();
};

// The average bitrate the SDK's video index holds for an attendee's source (INDEX, then BITRATES), for the
// test; the SDK's public API does not expose it.
window.parleySourceBitrate = (attendeeId) => {
  const index = window.parleySession.audioVideo.audioVideoController.meetingSessionContext.videoStreamIndex;
  const source = index.currentIndex?.sources?.find((s) => s.attendeeId === attendeeId);
  return source ? source.avgBitrateBps ?? 0 : null;
};

window.parleyPauseTile = (tileId) => window.parleySession.audioVideo.pauseVideoTile(tileId);
window.parleyUnpauseTile = (tileId) => window.parleySession.audioVideo.unpauseVideoTile(tileId);

// What a remote tile's <video> element shows (pixels.js).
window.parleyTilePixels = (tileId) => window.parleyVideoPixels(document.getElementById(`tile-${tileId}`));
