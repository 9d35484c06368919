import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5Words } from './md5.ts';

function hex(text: string): string {
  const out = new Uint32Array(4);
  md5Words(text, out);
  return [...out].map((w) => w.toString(16).padStart(8, '0')).join('');
}

describe('md5Words', () => {
  it('matches the RFC 1321 test suite', () => {
    expect(hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(hex('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(hex('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(hex('abcdefghijklmnopqrstuvwxyz')).toBe('c3fcd3d76192e4007dfb496cca67e13b');
    expect(hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });

  it('agrees with node:crypto for every length around block edges, non-ASCII text and the longest keys', () => {
    const samples: string[] = [];
    for (let n = 0; n < 140; n++) samples.push('k'.repeat(n));
    samples.push('Zürich-Bern', '🚗'.repeat(256), 'é'.repeat(256), 'x'.repeat(256), 'ZH123456');
    for (const s of samples) expect(hex(s), s).toBe(createHash('md5').update(s, 'utf8').digest('hex'));
  });
});
