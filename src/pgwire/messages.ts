/**
 * The bytes of PostgreSQL's frontend/backend protocol, version 3: cutting the incoming stream into messages,
 * reading their fields, and building the messages the server sends. No state and no I/O.
 */
import { TollstreamError } from '../core/errors.ts';

/** The startup packet has no type byte; these codes stand in its place. */
export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** The largest message a signed-in client may send (a query text with its parameters). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** The largest message before sign-in (startup packet, SCRAM messages), as PostgreSQL bounds its startup packet. */
export const MAX_STARTUP_MESSAGE_BYTES = 10_000;

export interface FrontendMessage {
  /** The type byte as a character (`Q`, `P`, `B`...); '' for the startup packet. */
  readonly type: string;
  readonly body: Buffer;
}

/**
 * Accumulates socket data and hands out whole messages. The first message of a connection (and after an
 * SSL or GSS refusal, the next one) is a startup packet without a type byte.
 */
export class MessageReader {
  private pending: Buffer = Buffer.alloc(0);
  expectStartup = true;
  /** Raised to MAX_MESSAGE_BYTES once the client has signed in. */
  maxMessageBytes = MAX_STARTUP_MESSAGE_BYTES;

  push(data: Buffer): FrontendMessage[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: FrontendMessage[] = [];
    for (;;) {
      const headerBytes = this.expectStartup ? 4 : 5;
      if (this.pending.length < headerBytes) break;
      const length = this.pending.readInt32BE(headerBytes - 4);
      if (length < 4 || length > this.maxMessageBytes) {
        throw new TollstreamError('MALFORMED_REQUEST', `a protocol message of ${length} bytes (at most ${this.maxMessageBytes} here)`, { context: { length } });
      }
      const total = headerBytes - 4 + length;
      if (this.pending.length < total) break;
      const type = this.expectStartup ? '' : String.fromCharCode(this.pending[0]!);
      out.push({ type, body: this.pending.subarray(headerBytes, total) });
      this.pending = this.pending.subarray(total);
      if (this.expectStartup) {
        this.expectStartup = false;
        break; // the caller decides whether another startup packet follows (after an SSL refusal)
      }
    }
    return out;
  }
}

/** Reads the fields of one message body in order. */
export class FieldReader {
  private offset = 0;
  constructor(private readonly body: Buffer) {}

  int16(): number {
    this.need(2);
    const v = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    if (end < 0) throw malformed('a string without its terminating zero byte');
    const v = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.body.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  rest(): Buffer {
    const v = this.body.subarray(this.offset);
    this.offset = this.body.length;
    return v;
  }

  get remaining(): number {
    return this.body.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.body.length) throw malformed('a message shorter than its fields');
  }
}

function malformed(what: string): TollstreamError {
  return new TollstreamError('MALFORMED_REQUEST', `malformed protocol message: ${what}`);
}

/** Builds one backend message: a type byte, a length, then the fields. */
export class MessageWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly type: string) {}

  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.add(b);
  }

  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.add(b);
  }

  cstring(v: string): this {
    return this.add(Buffer.from(`${v.replaceAll('\0', '')}\0`, 'utf8'));
  }

  bytes(b: Buffer): this {
    return this.add(b);
  }

  finish(): Buffer {
    const header = Buffer.alloc(5);
    header.write(this.type, 0, 'latin1');
    header.writeInt32BE(this.size + 4, 1);
    return Buffer.concat([header, ...this.parts]);
  }

  private add(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
}

export interface ColumnDescription {
  readonly name: string;
  readonly typeOid: number;
  readonly typeSize: number;
}

export const backend = {
  authentication(code: number, data?: Buffer): Buffer {
    const m = new MessageWriter('R').int32(code);
    if (data) m.bytes(data);
    return m.finish();
  },
  parameterStatus(name: string, value: string): Buffer {
    return new MessageWriter('S').cstring(name).cstring(value).finish();
  },
  backendKeyData(processId: number, secretKey: number): Buffer {
    return new MessageWriter('K').int32(processId).int32(secretKey).finish();
  },
  readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
    return new MessageWriter('Z').bytes(Buffer.from(status, 'latin1')).finish();
  },
  /** `formats`: per column, 0 text or 1 binary (a statement's description, before a Bind, says 0). */
  rowDescription(columns: readonly ColumnDescription[], formats?: readonly number[]): Buffer {
    const m = new MessageWriter('T').int16(columns.length);
    for (const [i, c] of columns.entries()) m.cstring(c.name).int32(0).int16(0).int32(c.typeOid).int16(c.typeSize).int32(-1).int16(formats?.[i] ?? 0);
    return m.finish();
  },
  /** Text values as UTF-8, binary ones as given, null as SQL NULL. */
  dataRow(values: readonly (string | Buffer | null)[]): Buffer {
    const m = new MessageWriter('D').int16(values.length);
    for (const v of values) {
      if (v === null) m.int32(-1);
      else {
        const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        m.int32(b.length).bytes(b);
      }
    }
    return m.finish();
  },
  commandComplete(tag: string): Buffer {
    return new MessageWriter('C').cstring(tag).finish();
  },
  emptyQuery(): Buffer {
    return new MessageWriter('I').finish();
  },
  parseComplete(): Buffer {
    return new MessageWriter('1').finish();
  },
  bindComplete(): Buffer {
    return new MessageWriter('2').finish();
  },
  closeComplete(): Buffer {
    return new MessageWriter('3').finish();
  },
  noData(): Buffer {
    return new MessageWriter('n').finish();
  },
  portalSuspended(): Buffer {
    return new MessageWriter('s').finish();
  },
  parameterDescription(oids: readonly number[]): Buffer {
    const m = new MessageWriter('t').int16(oids.length);
    for (const oid of oids) m.int32(oid);
    return m.finish();
  },
  /** `fields`: severity, SQLSTATE and message always; detail and hint when given. */
  error(fields: { severity: 'ERROR' | 'FATAL'; code: string; message: string; detail?: string; hint?: string }): Buffer {
    const m = new MessageWriter('E').cstring(`S${fields.severity}`).cstring(`V${fields.severity}`).cstring(`C${fields.code}`).cstring(`M${fields.message}`);
    if (fields.detail) m.cstring(`D${fields.detail}`);
    if (fields.hint) m.cstring(`H${fields.hint}`);
    return m.bytes(Buffer.from([0])).finish();
  },
  notice(message: string): Buffer {
    return new MessageWriter('N').cstring('SNOTICE').cstring('VNOTICE').cstring('C00000').cstring(`M${message}`).bytes(Buffer.from([0])).finish();
  },
};
