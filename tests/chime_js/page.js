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
} from "amazon-chime-sdk-js";

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
};
window.parley = state;

window.parleyJoin = async (meeting, attendee, options = {}) => {
  const logger = new ConsoleLogger("parley", LogLevel.WARN);
  const configuration = new MeetingSessionConfiguration(meeting, attendee);
  if (options.signalingFrom && options.signalingTo) {
    // The SDK's documented hook for reaching Chime's URLs through a proxy; used for the signaling socket.
    configuration.urls.urlRewriter = (url) => (url ? url.replace(options.signalingFrom, options.signalingTo) : url);
  }
  const devices = new DefaultDeviceController(logger);
  const session = new DefaultMeetingSession(configuration, logger, devices);
  const av = session.audioVideo;
  av.addObserver({
    audioVideoDidStartConnecting: (reconnecting) => { state.connecting.push(reconnecting); },
    audioVideoDidStart: () => { state.started = true; state.starts += 1; },
    audioVideoDidStop: (status) => { state.stopped = status.statusCode(); },
    metricsDidReceive: (report) => {
      report.getRTCStatsReport().forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          state.inbound = {
            packetsReceived: s.packetsReceived ?? 0,
            bytesReceived: s.bytesReceived ?? 0,
            totalAudioEnergy: s.totalAudioEnergy ?? 0,
          };
        }
      });
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
