import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';

/** Bitwise reference: slow and obviously right. */
function reference(bytes: Uint8Array): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the standard check value of "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('matches the RFC 3720 (iSCSI) test vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with a bitwise reference for every length and alignment up to 64 bytes', () => {
    const data = Uint8Array.from({ length: 80 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let len = 0; len <= 64; len++) {
        expect(crc32c(data, start, start + len)).toBe(reference(data.subarray(start, start + len)));
      }
    }
  });

  it('agrees with the reference on long inputs at every alignment', () => {
    const data = Uint8Array.from({ length: 1100 }, (_, i) => (i * 97 + 13) & 0xff);
    for (let start = 0; start < 8; start++) {
      for (const len of [64, 65, 71, 72, 1000]) expect(crc32c(data, start, start + len)).toBe(reference(data.subarray(start, start + len)));
    }
  });

  it('continues a checksum across pieces', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const whole = crc32c(data);
    expect(crc32c(data, 13, data.length, crc32c(data, 0, 13))).toBe(whole);
  });
});
