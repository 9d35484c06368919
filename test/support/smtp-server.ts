/**
 * An SMTP server for tests on 127.0.0.1 (random port), written with node:net: it speaks enough of RFC 5321
 * (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive mail, keeps each message with its envelope, and
 * can be told to refuse the next recipients (4xx or 5xx).
 */
import net from 'node:net';

export interface ReceivedMail {
  readonly helo: string;
  readonly from: string;
  readonly to: readonly string[];
  /** The message as sent after DATA, dot-unstuffed, with CRLF line ends. */
  readonly data: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body decoded per its Content-Transfer-Encoding (base64 or as it is). */
  readonly text: string;
}

export interface SmtpTestServer {
  readonly host: string;
  readonly port: number;
  readonly received: ReceivedMail[];
  /** The next `count` RCPT commands are answered with `reply`, e.g. `451 4.3.0 try later`. */
  refuseNext(count: number, reply: string): void;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<SmtpTestServer> {
  const received: ReceivedMail[] = [];
  const sockets = new Set<net.Socket>();
  let refusals = { count: 0, reply: '' };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let helo = '';
    let from: string | undefined;
    let to: string[] = [];
    let data: string[] | undefined;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 test.smtp.invalid ESMTP ready');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line === '.') {
            const message = data.join('\r\n');
            received.push({ helo, from: from ?? '', to, data: message, ...parse(message) });
            data = undefined;
            from = undefined;
            to = [];
            reply('250 2.0.0 queued');
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          helo = line.slice(5);
          reply('250-test.smtp.invalid greets you');
          reply('250 8BITMIME');
        } else if (verb === 'HELO') {
          helo = line.slice(5);
          reply('250 test.smtp.invalid');
        } else if (/^MAIL FROM:<([^>]*)>/i.test(line)) {
          if (!helo) reply('503 5.5.1 EHLO first');
          else {
            from = /^MAIL FROM:<([^>]*)>/i.exec(line)![1]!;
            reply('250 2.1.0 ok');
          }
        } else if (/^RCPT TO:<([^>]+)>/i.test(line)) {
          if (from === undefined) reply('503 5.5.1 MAIL first');
          else if (refusals.count > 0) {
            refusals = { ...refusals, count: refusals.count - 1 };
            reply(refusals.reply);
          } else {
            to.push(/^RCPT TO:<([^>]+)>/i.exec(line)![1]!);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          if (to.length === 0) reply('503 5.5.1 RCPT first');
          else {
            data = [];
            reply('354 end with <CRLF>.<CRLF>');
          }
        } else if (verb === 'RSET') {
          from = undefined;
          to = [];
          reply('250 2.0.0 ok');
        } else if (verb === 'NOOP') {
          reply('250 2.0.0 ok');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else {
          reply('500 5.5.2 unknown command');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    received,
    refuseNext(count, reply) {
      refusals = { count, reply };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function parse(message: string): { headers: Record<string, string>; text: string } {
  const split = message.indexOf('\r\n\r\n');
  const head = split < 0 ? message : message.slice(0, split);
  const body = split < 0 ? '' : message.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  const text = encoding === 'base64' ? Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8') : body;
  return { headers, text };
}
