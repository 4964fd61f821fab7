/*
 * The protobuf wire format, as much of it as a reader of a few known
 * messages needs: fields are written and read by number, without a schema
 * library. Loading one (protobufjs with Temporal's definitions) costs a
 * short-lived command more than the call it makes.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

function varintBytes(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot write ${value} as a varint`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Builds one message field by field; fields left out are the protobuf defaults. */
export class ProtoWriter {
  private readonly parts: Buffer[] = [];

  private key(field: number, wireType: number): void {
    this.parts.push(Buffer.from(varintBytes(field * 8 + wireType)));
  }

  /** A non-negative integer, enum or bool field. */
  varint(field: number, value: number | boolean): this {
    this.key(field, VARINT);
    this.parts.push(Buffer.from(varintBytes(typeof value === 'boolean' ? Number(value) : value)));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED);
    this.parts.push(Buffer.from(varintBytes(value.length)), Buffer.from(value));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A malformed message. */
export class ProtoDecodeError extends Error {
  override name = 'ProtoDecodeError';
}

/** One decoded message: the values of each field number, in wire order; fields of unknown meaning are kept undecoded. */
export class ProtoMessage {
  private readonly fields = new Map<number, (number | Buffer)[]>();

  constructor(buf: Uint8Array) {
    const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    const readVarint = (): number => {
      let value = 0;
      let scale = 1;
      for (;;) {
        if (pos >= bytes.length) throw new ProtoDecodeError('truncated varint');
        const b = bytes[pos++] as number;
        value += (b & 0x7f) * scale;
        if (b < 0x80) return value;
        scale *= 0x80;
        if (scale > 2 ** 70) throw new ProtoDecodeError('varint too long');
      }
    };
    while (pos < bytes.length) {
      const key = readVarint();
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      let value: number | Buffer;
      if (wireType === VARINT) value = readVarint();
      else if (wireType === LENGTH_DELIMITED) {
        const length = readVarint();
        if (pos + length > bytes.length) throw new ProtoDecodeError('truncated field');
        value = bytes.subarray(pos, pos + length);
        pos += length;
      } else if (wireType === FIXED64 || wireType === FIXED32) {
        const length = wireType === FIXED64 ? 8 : 4;
        if (pos + length > bytes.length) throw new ProtoDecodeError('truncated field');
        value = bytes.subarray(pos, pos + length);
        pos += length;
      } else throw new ProtoDecodeError(`unsupported wire type ${wireType}`);
      const list = this.fields.get(field);
      if (list) list.push(value);
      else this.fields.set(field, [value]);
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
