// A small proto2 reader/writer driven by the generated schema (signaling-schema.js).
//
// Written here because the page has no build step: protobuf libraries for the browser come as npm packages
// meant for a bundler, and the page is plain modules served by parley. It covers what the signaling schema
// uses: varint scalars (uint32/uint64/int64/bool/enum), double, string, bytes and nested messages, repeated
// fields (packed or not on input), and unknown fields (skipped). Messages are plain objects keyed by the
// .proto's field names; enums are numbers; 64-bit values are Numbers (exact below 2^53: times in ms are).

import { SCHEMA } from "./signaling-schema.js";

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;
const PACKABLE = new Set(["uint32", "uint64", "int64", "bool", "enum", "double"]);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: false });

export class ProtobufError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtobufError";
  }
}

function fieldsOf(type) {
  const fields = SCHEMA.messages[type];
  if (!fields) throw new ProtobufError(`unknown message type ${type}`);
  return fields;
}

// -- writing ---------------------------------------------------------------------------------------

class Writer {
  constructor() {
    this.bytes = [];
  }

  varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  tag(id, wireType) {
    this.varint((id << 3) | wireType);
  }

  chunk(data) {
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
  }

  double(value) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.bytes.push(view.getUint8(i));
  }
}

function writeValue(writer, field, value) {
  switch (field.type) {
    case "string":
      writer.tag(field.id, LENGTH);
      writer.chunk(utf8.encode(String(value)));
      break;
    case "bytes":
      writer.tag(field.id, LENGTH);
      writer.chunk(value instanceof Uint8Array ? value : new Uint8Array(value));
      break;
    case "message":
      writer.tag(field.id, LENGTH);
      writer.chunk(encode(field.message, value));
      break;
    case "double":
      writer.tag(field.id, FIXED64);
      writer.double(Number(value));
      break;
    case "bool":
      writer.tag(field.id, VARINT);
      writer.varint(value ? 1 : 0);
      break;
    default: // uint32, uint64, int64, enum
      writer.tag(field.id, VARINT);
      writer.varint(Math.trunc(Number(value)));
  }
}

/** Serialize `message` (a plain object) as the schema's `type`. Absent (undefined/null) fields are left out. */
export function encode(type, message) {
  const fields = fieldsOf(type);
  const writer = new Writer();
  for (const [name, field] of Object.entries(fields).sort((a, b) => a[1].id - b[1].id)) {
    const value = message[name];
    if (value === undefined || value === null) continue;
    if (field.repeated) for (const item of value) writeValue(writer, field, item);
    else writeValue(writer, field, value);
  }
  return Uint8Array.from(writer.bytes);
}

// -- reading ---------------------------------------------------------------------------------------

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  done() {
    return this.pos >= this.bytes.length;
  }

  byte() {
    if (this.pos >= this.bytes.length) throw new ProtobufError("truncated message");
    return this.bytes[this.pos++];
  }

  varint() {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new ProtobufError("varint too long");
  }

  take(n) {
    if (n < 0 || this.pos + n > this.bytes.length) throw new ProtobufError("truncated message");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  chunk() {
    return this.take(Number(this.varint()));
  }

  skip(wireType) {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.take(8);
    else if (wireType === LENGTH) this.chunk();
    else if (wireType === FIXED32) this.take(4);
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
  }
}

function scalar(field, raw) {
  if (field.type === "bool") return raw !== 0n;
  if (field.type === "int64") return Number(BigInt.asIntN(64, raw));
  return Number(raw); // uint32, uint64, enum
}

function readOne(reader, field, wireType) {
  if (field.type === "double") {
    if (wireType !== FIXED64) throw new ProtobufError(`field ${field.id}: wire type ${wireType} for a double`);
    const data = reader.take(8);
    return new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true);
  }
  if (field.type === "string" || field.type === "bytes" || field.type === "message") {
    if (wireType !== LENGTH) throw new ProtobufError(`field ${field.id}: wire type ${wireType} for ${field.type}`);
    const data = reader.chunk();
    if (field.type === "string") return fromUtf8.decode(data);
    if (field.type === "bytes") return data.slice();
    return decode(field.message, data);
  }
  if (wireType !== VARINT) throw new ProtobufError(`field ${field.id}: wire type ${wireType} for ${field.type}`);
  return scalar(field, reader.varint());
}

/** Parse `bytes` (a Uint8Array) as the schema's `type`. Repeated fields are arrays (empty when absent). */
export function decode(type, bytes) {
  const fields = fieldsOf(type);
  const byId = new Map(Object.entries(fields).map(([name, field]) => [field.id, [name, field]]));
  const message = {};
  for (const [name, field] of byId.values()) if (field.repeated) message[name] = [];
  const reader = new Reader(bytes);
  while (!reader.done()) {
    const key = Number(reader.varint());
    const id = key >>> 3;
    const wireType = key & 7;
    const known = byId.get(id);
    if (!known) {
      reader.skip(wireType);
      continue;
    }
    const [name, field] = known;
    if (field.repeated && wireType === LENGTH && PACKABLE.has(field.type)) {
      const packed = new Reader(reader.chunk());
      const itemWire = field.type === "double" ? FIXED64 : VARINT;
      while (!packed.done()) message[name].push(readOne(packed, field, itemWire));
    } else if (field.repeated) {
      message[name].push(readOne(reader, field, wireType));
    } else {
      message[name] = readOne(reader, field, wireType);
    }
  }
  return message;
}

/** The number of `value` in the schema's enum `type` ("SdkSignalFrame.Type", "JOIN" → 1). */
export function enumValue(type, value) {
  const number = (SCHEMA.enums[type] || {})[value];
  if (number === undefined) throw new ProtobufError(`unknown enum value ${type}.${value}`);
  return number;
}
