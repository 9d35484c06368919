/**
 * MD5 of short strings, in JavaScript. Shard routing hashes every record's partition key, and for keys of a
 * few dozen bytes `crypto.createHash('md5')` spends far more on setting up a hash object than on hashing;
 * this computes the digest straight from the string into four 32-bit words, with no allocation.
 */

const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const SHIFT = Uint8Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);
const INDEX = Uint8Array.from({ length: 64 }, (_, i) => (i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16));

/** Partition keys are at most 256 characters, 1024 UTF-8 bytes; padding adds at most 72. */
const scratch = Buffer.alloc(1024 * 3 + 128);
const words = new Int32Array(16);

/**
 * The MD5 digest of the UTF-8 bytes of `text` as four big-endian 32-bit words (`out[0]` holds the digest's
 * first four bytes as the most significant), i.e. the 128-bit integer `out[0] << 96 | ... | out[3]`.
 */
export function md5Words(text: string, out: Uint32Array): void {
  let len = text.length;
  let ascii = len <= 1024;
  if (ascii) {
    for (let i = 0; i < len; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      scratch[i] = c;
    }
  }
  if (!ascii) len = scratch.write(text, 0, 'utf8');
  const blocks = ((len + 8) >>> 6) + 1;
  const padded = blocks * 64;
  scratch[len] = 0x80;
  scratch.fill(0, len + 1, padded - 8);
  const bits = len * 8;
  scratch.writeUInt32LE(bits >>> 0, padded - 8);
  scratch.writeUInt32LE(Math.floor(bits / 2 ** 32), padded - 4);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const m = words;
  for (let block = 0; block < padded; block += 64) {
    for (let j = 0; j < 16; j++) {
      const p = block + j * 4;
      m[j] = scratch[p]! | (scratch[p + 1]! << 8) | (scratch[p + 2]! << 16) | (scratch[p + 3]! << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      if (i < 16) f = (b & c) | (~b & d);
      else if (i < 32) f = (d & b) | (~d & c);
      else if (i < 48) f = b ^ c ^ d;
      else f = c ^ (b | ~d);
      f = (f + a + K[i]! + m[INDEX[i]!]!) | 0;
      const s = SHIFT[((i >>> 4) << 2) | (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  out[0] = bswap(a0);
  out[1] = bswap(b0);
  out[2] = bswap(c0);
  out[3] = bswap(d0);
}

function bswap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}
