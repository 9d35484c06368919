import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptPushPayload, loadOrCreateVapidKeys, vapidAuthorization } from './webpush.ts';

// RFC 8291 Appendix A: the example's keys, salt and the exact body it gives.
const RFC = {
  plaintext: 'When I grow up, I want to be a watermelon',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

describe('Web Push encryption', () => {
  it('reproduces the example of RFC 8291 byte for byte', () => {
    const senderKey = crypto.createECDH('prime256v1');
    senderKey.setPrivateKey(Buffer.from(RFC.asPrivate, 'base64url'));
    const body = encryptPushPayload(Buffer.from(RFC.plaintext), { p256dh: RFC.uaPublic, auth: RFC.auth }, { salt: Buffer.from(RFC.salt, 'base64url'), senderKey });
    expect(body.toString('base64url')).toBe(RFC.body);
  });

  it('refuses a payload larger than one record', () => {
    expect(() => encryptPushPayload(Buffer.alloc(4080), { p256dh: RFC.uaPublic, auth: RFC.auth })).toThrow(/at most 4079/);
  });
});

describe('VAPID', () => {
  it('keeps one key pair in its file across opens, readable by the owner only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    try {
      const file = path.join(dir, 'vapid.json');
      const first = loadOrCreateVapidKeys(file);
      const again = loadOrCreateVapidKeys(file);
      expect(again.publicKey).toBe(first.publicKey);
      expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      fs.writeFileSync(file, '{"kty":"EC"');
      expect(() => loadOrCreateVapidKeys(file)).toThrow(/damaged/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signs an ES256 token for the push service origin that verifies with the public key it names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    try {
      const keys = loadOrCreateVapidKeys(path.join(dir, 'vapid.json'));
      const now = Date.parse('2026-12-01T10:00:00Z');
      const header = vapidAuthorization('https://push.example.net:8443/wpush/v2/abc?x=1', keys, 'mailto:ops@example.com', now);
      const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header);
      expect(m).not.toBeNull();
      const [, h, c, s, k] = m!;
      expect(k).toBe(keys.publicKey);
      expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
      expect(JSON.parse(Buffer.from(c!, 'base64url').toString())).toEqual({ aud: 'https://push.example.net:8443', exp: now / 1000 + 12 * 3600, sub: 'mailto:ops@example.com' });
      const point = Buffer.from(k!, 'base64url');
      const publicKey = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
      const ok = crypto.verify('sha256', Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
      expect(ok).toBe(true);
      const tampered = crypto.verify('sha256', Buffer.from(`${h}.${c}x`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
      expect(tampered).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
