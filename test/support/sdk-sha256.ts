/**
 * The hash constructor the AWS SDK's SigV4 signer (`@smithy/signature-v4`) wants, on node:crypto (the SDK's own
 * hash packages are not installed), so tests can sign requests exactly the way the SDK does.
 */
import crypto from 'node:crypto';

export class Sha256 {
  private hash: crypto.Hash | crypto.Hmac;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): crypto.Hash | crypto.Hmac {
    return this.secret === undefined ? crypto.createHash('sha256') : crypto.createHmac('sha256', this.secret);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}
