// Decode parley's transcription frames with the real amazon-chime-sdk-js code, printing JSON.
//
// Input: one frame per line (stdin, or the file named by argv[2]), "<mode> <base64>":
//   transcript <b64>  SdkTranscriptFrame bytes, i.e. DataMessage.data
//   signal <b64>      a whole signaling websocket message: 0x05 || SdkSignalFrame{DATA_MESSAGE}
// Output: one JSON line per input line:
//   transcript -> {"events":[{"type":"status","status":{...}} | {"type":"transcript","transcript":{...}}]}
//   signal     -> {"frame":{"timestampMs","type"},"messages":[{"topic","senderAttendeeId",
//                  "senderExternalUserId","timestampMs","throttled","events":[...]}]}
//   failure    -> {"error":"..."}
// The tag mirrors parley's JSON envelope: the SDK distinguishes events with instanceof. Values are
// printed as the SDK produced them, so a protobufjs Long (absent int64) shows up as {low,high,unsigned}.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { DataMessage } = require('amazon-chime-sdk-js');
const { TranscriptEventConverter } = require('amazon-chime-sdk-js/build/transcript/TranscriptEvent');
const Transcript = require('amazon-chime-sdk-js/build/transcript/Transcript').default;
const TranscriptionStatus = require('amazon-chime-sdk-js/build/transcript/TranscriptionStatus').default;
const { SdkSignalFrame } = require('amazon-chime-sdk-js/build/signalingprotocol/SignalingProtocol');

const TOPIC = 'aws:chime:transcription';

function tag(event) {
  if (event instanceof TranscriptionStatus) return { type: 'status', status: event };
  if (event instanceof Transcript) return { type: 'transcript', transcript: event };
  throw new Error('converter returned an unknown event: ' + JSON.stringify(event));
}

function convert(dataMessage) {
  return TranscriptEventConverter.from(dataMessage).map(tag);
}

function decodeTranscript(bytes) {
  // Same constructor call as an app receiving the message; sender ids are unused by the converter.
  const dm = new DataMessage(Date.now(), TOPIC, bytes, 'sender-attendee', 'sender-external');
  return { events: convert(dm) };
}

function decodeSignal(bytes) {
  // DefaultSignalingClient strips the type byte whatever it is, then decodes SdkSignalFrame.
  const frame = SdkSignalFrame.decode(bytes.subarray(1));
  if (frame.type !== SdkSignalFrame.Type.DATA_MESSAGE) {
    throw new Error('not a DATA_MESSAGE frame: type ' + frame.type);
  }
  const messages = frame.dataMessage.messages.map((m) => {
    // Exactly SendAndReceiveDataMessagesTask.handleSignalingClientEvent.
    const dm = new DataMessage(
      m.ingestTimeNs / 1000000,
      m.topic,
      m.data,
      m.senderAttendeeId,
      m.senderExternalUserId,
      m.ingestTimeNs === 0
    );
    return {
      topic: dm.topic,
      senderAttendeeId: dm.senderAttendeeId,
      senderExternalUserId: dm.senderExternalUserId,
      timestampMs: dm.timestampMs,
      throttled: dm.throttled,
      events: convert(dm),
    };
  });
  return { frame: { timestampMs: frame.timestampMs, type: frame.type }, messages };
}

function decodeLine(line) {
  const [mode, b64] = line.trim().split(/\s+/);
  const bytes = new Uint8Array(Buffer.from(b64 ?? '', 'base64'));
  try {
    if (mode === 'transcript') return decodeTranscript(bytes);
    if (mode === 'signal') return decodeSignal(bytes);
    return { error: 'unknown mode ' + JSON.stringify(mode) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

const input = readFileSync(process.argv[2] ?? 0, 'utf8');
for (const line of input.split('\n')) {
  if (line.trim() === '') continue;
  process.stdout.write(JSON.stringify(decodeLine(line)) + '\n');
}
