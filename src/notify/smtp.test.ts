import { describe, expect, it } from 'vitest';
import { formatMessage, mailAddress } from './smtp.ts';

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
