// Runs the join page's own protobuf codec (src/parley/web/static/js/protobuf.js, transcript-events.js) under Node,
// for tests/signaling/test_page_codec.py. One JSON request per stdin line, one JSON answer per stdout line:
//   {"op": "decode", "type": T, "b64": ...}      -> {"value": <message>}
//   {"op": "encode", "type": T, "value": ...}    -> {"b64": ...}
//   {"op": "transcript", "b64": ...}             -> {"events": [...]}   (transcriptEvents of the page)
//   any failure                                  -> {"error": "<Error name>: <message>"}
// Bytes travel as {"$b64": ...} inside messages.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const STATIC = resolve(import.meta.dirname, "../../src/parley/web/static/js");
const { decode, encode } = await import(pathToFileURL(`${STATIC}/protobuf.js`));
const { transcriptEvents } = await import(pathToFileURL(`${STATIC}/transcript-events.js`));

const toB64 = (bytes) => Buffer.from(bytes).toString("base64");
const fromB64 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const replacer = (_key, value) => (value instanceof Uint8Array ? { $b64: toB64(value) } : value);
const reviver = (_key, value) =>
  value && typeof value === "object" && typeof value.$b64 === "string" ? fromB64(value.$b64) : value;

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line, reviver);
    if (request.op === "decode") answer = { value: decode(request.type, fromB64(request.b64)) };
    else if (request.op === "encode") answer = { b64: toB64(encode(request.type, request.value)) };
    else if (request.op === "transcript") answer = { events: transcriptEvents(fromB64(request.b64)) };
    else throw new Error(`unknown op ${request.op}`);
  } catch (error) {
    answer = { error: `${error.name}: ${error.message}` };
  }
  process.stdout.write(JSON.stringify(answer, replacer) + "\n");
}
