/**
 * Request bodies and signed requests as the AWS SDK for Java (v1 and v2) sends them over CBOR, its default for
 * Kinesis. The SDK writes through Jackson's CBORGenerator: objects and lists with indefinite length (0xBF / 0x9F
 * ... 0xFF), text and byte strings with definite length, integers in their shortest form (a long above 32 bits
 * as 8 bytes), blobs as byte strings, and every timestamp as tag 1 around the epoch milliseconds (SdkCborGenerator
 * `writeTag(1); writeNumber(instant.toEpochMilli())`). The `cbor` library writes only definite lengths, so this
 * small writer produces the SDK's bytes.
 */
import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_CREDENTIALS } from './test-server.ts';

/** A timestamp field, written as the Java SDK writes it. */
export class JavaInstant {
  constructor(readonly epochMillis: number) {}
}

export function javaCbor(value: unknown): Buffer {
  const out: Array<number | Buffer> = [];
  write(value, out);
  return Buffer.concat(out.map((x) => (typeof x === 'number' ? Buffer.of(x) : x)));
}

type Out = Array<number | Buffer>;

function head(major: number, n: number, out: Out): void {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push(m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  else {
    const big = BigInt(n);
    out.push(m | 27);
    for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((big >> shift) & 0xffn));
  }
}

function write(value: unknown, out: Out): void {
  if (value instanceof JavaInstant) {
    out.push(0xc1);
    write(value.epochMillis, out);
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    head(3, bytes.length, out);
    out.push(bytes);
  } else if (Buffer.isBuffer(value)) {
    head(2, value.length, out);
    out.push(value);
  } else if (typeof value === 'number' && Number.isInteger(value)) {
    if (value >= 0) head(0, value, out);
    else head(1, -1 - value, out);
  } else if (typeof value === 'boolean') {
    out.push(value ? 0xf5 : 0xf4);
  } else if (Array.isArray(value)) {
    out.push(0x9f);
    for (const v of value) write(v, out);
    out.push(0xff);
  } else if (typeof value === 'object' && value !== null) {
    out.push(0xbf);
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      write(k, out);
      write(v, out);
    }
    out.push(0xff);
  } else {
    throw new Error(`javaCbor cannot write ${typeof value}`);
  }
}

export interface JavaCborResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly errorType: string | null;
  readonly body: Buffer;
}

/**
 * Sends one Kinesis operation the way the Java SDK does: POST /, `Content-Type: application/x-amz-cbor-1.1`,
 * `X-Amz-Target: Kinesis_20131202.<operation>`, a CBOR body. Signed with SigV4 by the AWS signer.
 */
export async function sendJavaCbor(url: string, operation: string, payload: unknown): Promise<JavaCborResponse> {
  const body = Buffer.isBuffer(payload) ? payload : javaCbor(payload);
  const endpoint = new URL(url);
  const signer = new SignatureV4({ service: 'kinesis', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: NodeSha256 });
  const request = await signer.sign({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: Number(endpoint.port),
    path: '/',
    headers: { host: endpoint.host, 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-target': `Kinesis_20131202.${operation}` },
    body,
  });
  const res = await fetch(url, { method: 'POST', headers: request.headers, body });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    errorType: res.headers.get('x-amzn-errortype'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** The signer's hash, on node:crypto. */
class NodeSha256 {
  private hash: crypto.Hash | crypto.Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): crypto.Hash | crypto.Hmac {
    if (this.secret === undefined) return crypto.createHash('sha256');
    return crypto.createHmac('sha256', typeof this.secret === 'string' ? this.secret : bytesOf(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

const bytesOf = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
