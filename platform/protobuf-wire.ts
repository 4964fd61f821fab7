/*
 * Fields of a few known messages, written and read by number. The wire
 * format itself is protobufjs/minimal's Writer and Reader; only the
 * schema-free access by field number is ours, because loading protobufjs
 * with Temporal's full definitions costs a short-lived command more than
 * the call it makes, while protobufjs/minimal alone loads in about no time.
 */
import { Reader, Writer, util } from 'protobufjs/minimal';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Builds one message field by field; fields left out are the protobuf defaults. */
export class ProtoWriter {
  private readonly writer = Writer.create();
  private finished: Buffer | undefined;

  private key(field: number, wireType: number): Writer {
    if (this.finished) throw new Error('message already finished');
    return this.writer.uint32(((field << 3) | wireType) >>> 0);
  }

  /** A non-negative integer, enum or bool field. */
  varint(field: number, value: number | boolean): this {
    const v = typeof value === 'boolean' ? Number(value) : value;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot write ${v} as a varint`);
    const w = this.key(field, VARINT);
    if (v <= 0xffffffff) w.uint32(v);
    else w.uint64(v);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED).bytes(value);
    return this;
  }

  string(field: number, value: string): this {
    this.key(field, LENGTH_DELIMITED).string(value);
    return this;
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** The encoded message; the same bytes on every call (protobufjs's own finish() empties its writer). */
  finish(): Buffer {
    this.finished ??= asBuffer(this.writer.finish());
    return this.finished;
  }
}

/** A malformed message. */
export class ProtoDecodeError extends Error {
  override name = 'ProtoDecodeError';
}

function readVarint(reader: Reader): number {
  // uint64() yields a Long when the long package is present, a number otherwise.
  return util.LongBits.from(reader.uint64()).toNumber(true);
}

/** One decoded message: the values of each field number, in wire order; fields of unknown meaning are kept undecoded. */
export class ProtoMessage {
  private readonly fields = new Map<number, (number | Buffer)[]>();

  constructor(buf: Uint8Array) {
    const bytes = asBuffer(buf);
    const reader = Reader.create(bytes);
    try {
      while (reader.pos < reader.len) {
        const key = reader.uint32();
        const field = key >>> 3;
        const wireType = key & 7;
        let value: number | Buffer;
        if (wireType === VARINT) value = readVarint(reader);
        else if (wireType === LENGTH_DELIMITED) value = asBuffer(reader.bytes());
        else if (wireType === FIXED64 || wireType === FIXED32) {
          const start = reader.pos;
          reader.skipType(wireType);
          value = bytes.subarray(start, reader.pos);
        } else throw new ProtoDecodeError(`unsupported wire type ${wireType}`);
        const list = this.fields.get(field);
        if (list) list.push(value);
        else this.fields.set(field, [value]);
      }
    } catch (err) {
      if (err instanceof ProtoDecodeError) throw err;
      throw new ProtoDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  private last(field: number): number | Buffer | undefined {
    return this.fields.get(field)?.at(-1);
  }

  /** An integer, enum or bool field (0 when unset, as protobuf defaults it). */
  varint(field: number): number {
    const v = this.last(field);
    if (v === undefined) return 0;
    if (typeof v !== 'number') throw new ProtoDecodeError(`field ${field} is not a varint`);
    return v;
  }

  bytes(field: number): Buffer | undefined {
    const v = this.last(field);
    if (v !== undefined && typeof v === 'number') throw new ProtoDecodeError(`field ${field} is not length-delimited`);
    return v;
  }

  /** A string field ('' when unset). */
  string(field: number): string {
    return this.bytes(field)?.toString('utf8') ?? '';
  }

  has(field: number): boolean {
    return this.fields.has(field);
  }

  message(field: number): ProtoMessage | undefined {
    const b = this.bytes(field);
    return b === undefined ? undefined : new ProtoMessage(b);
  }

  /** Every value of a repeated message field (a map field is a repeated entry message: key 1, value 2). */
  messages(field: number): ProtoMessage[] {
    return (this.fields.get(field) ?? []).map((v) => {
      if (typeof v === 'number') throw new ProtoDecodeError(`field ${field} is not length-delimited`);
      return new ProtoMessage(v);
    });
  }
}
