import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeRelayCertificates, startSmtpServer, type SmtpTestServer, type SmtpTestServerOptions } from '../../test/support/smtp-server.ts';
import { formatMessage, mailAddress, sendMail, SmtpError, type SmtpServer } from './smtp.ts';

describe('SMTP message', () => {
  it('reads plain and named addresses, and refuses anything that could break the envelope', () => {
    expect(mailAddress('ada@example.com')).toBe('ada@example.com');
    expect(mailAddress('ABC Tolls <alerts@tolls.example>')).toBe('alerts@tolls.example');
    expect(mailAddress('ada@example.com\r\nRCPT TO:<x@evil.example>')).toBeUndefined();
    expect(mailAddress('ada@example.com>')).toBeUndefined();
    expect(mailAddress('no-at-sign')).toBeUndefined();
    expect(mailAddress('a b@example.com')).toBeUndefined();
  });

  it('encodes a non-ASCII subject, keeps headers on one line, and sends the text as base64 UTF-8', () => {
    const text = formatMessage({
      from: 'ABC Tolls <alerts@tolls.example>',
      to: 'ada@example.com',
      subject: 'Péage: €25 passed\r\nBcc: x@evil.example',
      text: '.Line one\nLine two – ünïcode',
      messageId: 'abc@tollstream',
      date: new Date('2026-12-01T10:00:00Z'),
    });
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    const headers = head.split('\r\n');
    expect(headers).toContain('From: ABC Tolls <alerts@tolls.example>');
    expect(headers).toContain('Date: Tue, 01 Dec 2026 10:00:00 +0000');
    expect(headers).toContain('Message-ID: <abc@tollstream>');
    expect(headers.some((h) => h.startsWith('Bcc:'))).toBe(false);
    const subject = headers.find((h) => h.startsWith('Subject: '))!;
    const m = /^Subject: =\?utf-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(subject);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64').toString('utf8')).toBe('Péage: €25 passed Bcc: x@evil.example');
    expect(body.split('\r\n').every((line) => line.length <= 76 && !line.startsWith('.'))).toBe(true);
    expect(Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8')).toBe('.Line one\r\nLine two – ünïcode');
  });
});

describe('SMTP through a real relay: TLS and login', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  let otherNameCert: string;
  let otherNameKey: string;
  const servers: SmtpTestServer[] = [];
  const auth = { user: 'alerts@tolls.example', password: 'pa55-wörd' };
  const mail = { from: 'ABC Tolls <alerts@tolls.example>', to: 'ada@example.com', subject: 'Spending alert', text: 'You passed $25.', messageId: 'm1@tollstream', date: new Date('2026-12-01T10:00:00Z') };

  // A CA of our own signs the relay's certificates, made fresh for this run: nothing in Node's bundle trusts it.
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-smtp-tls-'));
    ({ caFile: ca, cert, key, otherNameCert, otherNameKey } = makeRelayCertificates(dir));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function relay(options: SmtpTestServerOptions): Promise<SmtpTestServer> {
    const s = await startSmtpServer(options);
    servers.push(s);
    return s;
  }
  function send(s: SmtpTestServer, settings: Partial<SmtpServer>): Promise<void> {
    return sendMail({ host: s.host, port: s.port, helloName: 'node-1.test', ...settings }, mail, { timeoutMs: 5000 });
  }
  async function failure(p: Promise<void>): Promise<SmtpError> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SmtpError);
    return err as SmtpError;
  }

  it('upgrades by STARTTLS, asks EHLO again, then logs in with AUTH PLAIN, all encrypted', async () => {
    const s = await relay({ tls: 'starttls', cert, key, auth: { ...auth, mechanisms: ['PLAIN', 'LOGIN'] } });
    await send(s, { tls: 'starttls', caFile: ca, auth });
    expect(s.commands.map((c) => c.split(' ')[0])).toEqual(['EHLO', 'STARTTLS', 'EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
    expect(s.commands[3]).toBe(`AUTH PLAIN ${Buffer.from(`\0${auth.user}\0${auth.password}`, 'utf8').toString('base64')}`);
    expect(s.logins).toEqual([{ mechanism: 'PLAIN', user: auth.user, password: auth.password, accepted: true, encrypted: true }]);
    expect(s.received).toHaveLength(1);
    expect(s.received[0]).toMatchObject({ from: 'alerts@tolls.example', to: ['ada@example.com'], encrypted: true, user: auth.user, text: 'You passed $25.' });
  });

  it('speaks TLS from the first byte (port 465 style) and logs in with AUTH LOGIN when PLAIN is not offered', async () => {
    const s = await relay({ tls: 'implicit', cert, key, auth: { ...auth, mechanisms: ['LOGIN'] } });
    await send(s, { tls: 'implicit', caFile: ca, auth });
    const b64 = (t: string) => Buffer.from(t, 'utf8').toString('base64');
    expect(s.commands.slice(0, 4)).toEqual(['EHLO node-1.test', 'AUTH LOGIN', b64(auth.user), b64(auth.password)]);
    expect(s.logins).toEqual([{ mechanism: 'LOGIN', user: auth.user, password: auth.password, accepted: true, encrypted: true }]);
    expect(s.received.map((m) => [m.encrypted, m.user])).toEqual([[true, auth.user]]);
  });

  it('a wrong password is SMTP_AUTH_FAILED, sends nothing, and the error does not hold the password', async () => {
    for (const mechanisms of [['PLAIN'], ['LOGIN']] as const) {
      const s = await relay({ tls: 'starttls', cert, key, auth: { ...auth, mechanisms } });
      const err = await failure(send(s, { tls: 'starttls', caFile: ca, auth: { user: auth.user, password: 'not-the-password' } }));
      expect(err.code).toBe('SMTP_AUTH_FAILED');
      expect(err.message).toContain('535');
      expect(err.permanent).toBe(false);
      expect(JSON.stringify({ message: err.message, context: err.context })).not.toMatch(/not-the-password|bm90LXRoZS1wYXNzd29yZA/);
      expect(s.logins.map((l) => l.accepted)).toEqual([false]);
      expect(s.commands.some((c) => c.startsWith('MAIL'))).toBe(false);
      expect(s.received).toEqual([]);
    }
  });

  it('a relay that offers no login this client speaks is SMTP_AUTH_FAILED', async () => {
    const s = await relay({ tls: 'starttls', cert, key });
    const err = await failure(send(s, { tls: 'starttls', caFile: ca, auth }));
    expect(err.code).toBe('SMTP_AUTH_FAILED');
    expect(s.received).toEqual([]);
  });

  it('verifies the certificate: a CA it does not know fails with SMTP_TLS_FAILED before any login, unless the CA file trusts it', async () => {
    for (const security of ['starttls', 'implicit'] as const) {
      const s = await relay({ tls: security, cert, key, auth: { ...auth, mechanisms: ['PLAIN'] } });
      const err = await failure(send(s, { tls: security, auth }));
      expect(err.code, security).toBe('SMTP_TLS_FAILED');
      expect(err.message, security).toMatch(/certificate|UNABLE_TO_VERIFY|SELF_SIGNED/i);
      expect(s.logins, security).toEqual([]);
      expect(s.received, security).toEqual([]);
      await send(s, { tls: security, caFile: ca, auth });
      expect(s.received, security).toHaveLength(1);
    }
  });

  it('a certificate of a trusted CA for another name fails with SMTP_TLS_FAILED', async () => {
    const s = await relay({ tls: 'implicit', cert: otherNameCert, key: otherNameKey });
    const err = await failure(send(s, { tls: 'implicit', caFile: ca }));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toMatch(/ALTNAME|does not match/i);
    expect(s.received).toEqual([]);
  });

  it('STARTTLS asked of a relay that does not offer it is SMTP_TLS_FAILED, and no mail goes in the clear', async () => {
    const s = await relay({});
    const err = await failure(send(s, { tls: 'starttls', caFile: ca }));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('STARTTLS');
    expect(s.commands).toEqual(['EHLO node-1.test']);
  });

  it('refuses to send a password over plain SMTP unless told to', async () => {
    const s = await relay({ auth: { ...auth, mechanisms: ['PLAIN'] } });
    const err = await failure(send(s, { auth }));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(s.commands).toEqual([]);
    await send(s, { auth, allowAuthWithoutTls: true });
    expect(s.logins).toEqual([{ mechanism: 'PLAIN', user: auth.user, password: auth.password, accepted: true, encrypted: false }]);
    expect(s.received).toHaveLength(1);
  });

  it('a CA file that cannot be read is SMTP_TLS_FAILED naming it', async () => {
    const s = await relay({ tls: 'implicit', cert, key });
    const err = await failure(send(s, { tls: 'implicit', caFile: path.join(dir, 'missing.pem') }));
    expect(err.code).toBe('SMTP_TLS_FAILED');
    expect(err.message).toContain('missing.pem');
  });
});
