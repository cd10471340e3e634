// A minimal Chime SDK app: join with the CreateMeeting/CreateAttendee responses, reach audioVideoDidStart,
// and record transcription events. The test reads window.parley (tests/chime_js/test_chime_js_e2e.py).
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
} from "amazon-chime-sdk-js";

const state = { started: false, stopped: null, presence: [], events: [], errors: [] };
window.parley = state;

window.parleyJoin = async (meeting, attendee) => {
  const logger = new ConsoleLogger("parley", LogLevel.WARN);
  const configuration = new MeetingSessionConfiguration(meeting, attendee);
  const devices = new DefaultDeviceController(logger);
  const session = new DefaultMeetingSession(configuration, logger, devices);
  const av = session.audioVideo;
  av.addObserver({
    audioVideoDidStart: () => { state.started = true; },
    audioVideoDidStop: (status) => { state.stopped = status.statusCode(); },
  });
  av.realtimeSubscribeToAttendeeIdPresence((attendeeId, present, externalUserId) => {
    state.presence.push({ attendeeId, present, externalUserId });
  });
  av.transcriptionController.subscribeToTranscriptEvent((event) => {
    if (event.type !== undefined) {
      state.events.push({ kind: "status", type: event.type });
      return;
    }
    for (const result of event.results) {
      const alternative = result.alternatives[0];
      state.events.push({
        kind: "transcript",
        isPartial: result.isPartial,
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

window.parleyStop = () => window.parleySession.audioVideo.stop();
