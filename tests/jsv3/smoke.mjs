// Drives a parley server with the real AWS SDK for JavaScript v3 and prints a JSON summary.
//
// Why: browser/Node apps create meetings with this client, which has its own rest-json
// serializers and error deserializers (errors become modeled exception classes by name), so
// this proves wire compatibility independently of botocore.
//
// Env: PARLEY_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (default us-east-1).
import {
  BadRequestException,
  ChimeSDKMeetingsClient,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  GetMeetingCommand,
  NotFoundException,
  StartMeetingTranscriptionCommand,
  StopMeetingTranscriptionCommand,
} from "@aws-sdk/client-chime-sdk-meetings";
import { randomUUID } from "node:crypto";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} must be set`);
  }
  return value;
}

// Credentials are passed explicitly so a developer's ~/.aws never decides who we are.
const client = new ChimeSDKMeetingsClient({
  endpoint: required("PARLEY_ENDPOINT"),
  region: process.env.AWS_REGION || "us-east-1",
  credentials: {
    accessKeyId: required("AWS_ACCESS_KEY_ID"),
    secretAccessKey: required("AWS_SECRET_ACCESS_KEY"),
  },
  maxAttempts: 1,
});

async function expectError(command) {
  try {
    await client.send(command);
  } catch (err) {
    return err;
  }
  throw new Error(`${command.constructor.name} unexpectedly succeeded`);
}

function describeError(err, cls) {
  return {
    name: err.name,
    instanceOf: err instanceof cls,
    httpStatusCode: err.$metadata?.httpStatusCode ?? null,
    fault: err.$fault ?? null,
    message: err.message,
  };
}

const created = await client.send(
  new CreateMeetingCommand({
    ClientRequestToken: randomUUID(),
    MediaRegion: "us-east-1",
    ExternalMeetingId: "jsv3-smoke",
  }),
);
const meeting = created.Meeting;

const attendee = (
  await client.send(
    new CreateAttendeeCommand({ MeetingId: meeting.MeetingId, ExternalUserId: "jsv3-user" }),
  )
).Attendee;

const started = await client.send(
  new StartMeetingTranscriptionCommand({
    MeetingId: meeting.MeetingId,
    TranscriptionConfiguration: { EngineTranscribeSettings: { LanguageCode: "en-US" } },
  }),
);
const stopped = await client.send(new StopMeetingTranscriptionCommand({ MeetingId: meeting.MeetingId }));

const fetched = (await client.send(new GetMeetingCommand({ MeetingId: meeting.MeetingId }))).Meeting;

const notFound = await expectError(
  new GetMeetingCommand({ MeetingId: "00000000-0000-0000-0000-000000000000" }),
);
const badRequest = await expectError(new GetMeetingCommand({ MeetingId: "not-a-meeting-id" }));

const summary = {
  createMeeting: { httpStatusCode: created.$metadata.httpStatusCode, meeting },
  createAttendee: attendee,
  startTranscription: { httpStatusCode: started.$metadata.httpStatusCode },
  stopTranscription: { httpStatusCode: stopped.$metadata.httpStatusCode },
  getMeeting: fetched,
  notFound: describeError(notFound, NotFoundException),
  badRequest: describeError(badRequest, BadRequestException),
};
process.stdout.write(JSON.stringify(summary) + "\n");
