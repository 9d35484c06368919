/**
 * An SMTP server for tests on 127.0.0.1 (random port), written with node:net and node:tls: it speaks enough of
 * RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive mail, keeps each message with its envelope,
 * and can be told to refuse the next recipients (4xx or 5xx). With options it offers STARTTLS or speaks TLS from
 * the first byte (with the certificate given), and requires a login (AUTH PLAIN and/or LOGIN) before MAIL.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export interface ReceivedMail {
  readonly helo: string;
  readonly from: string;
  readonly to: readonly string[];
  /** The message as sent after DATA, dot-unstuffed, with CRLF line ends. */
  readonly data: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body decoded per its Content-Transfer-Encoding (base64 or as it is). */
  readonly text: string;
  /** Whether the connection was encrypted when the message came. */
  readonly encrypted: boolean;
  /** The user logged in on the connection, if any. */
  readonly user?: string;
}

export interface SmtpLogin {
  readonly mechanism: string;
  readonly user: string;
  readonly password: string;
  readonly accepted: boolean;
  readonly encrypted: boolean;
}

export interface SmtpTestServerOptions {
  /** `starttls`: EHLO offers STARTTLS; `implicit`: TLS from the first byte. Both need `cert` and `key` (PEM). */
  readonly tls?: 'starttls' | 'implicit';
  readonly cert?: string;
  readonly key?: string;
  /** Require a login before MAIL, with these credentials, offering `mechanisms` in EHLO. */
  readonly auth?: { readonly user: string; readonly password: string; readonly mechanisms: readonly ('PLAIN' | 'LOGIN')[] };
}

export interface SmtpTestServer {
  readonly host: string;
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Every login tried, in order, with what was sent. */
  readonly logins: SmtpLogin[];
  /** Every command line received (AUTH continuation lines included), in order. */
  readonly commands: string[];
  /** The next `count` RCPT commands are answered with `reply`, e.g. `451 4.3.0 try later`. */
  refuseNext(count: number, reply: string): void;
  close(): Promise<void>;
}

export async function startSmtpServer(options: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const received: ReceivedMail[] = [];
  const logins: SmtpLogin[] = [];
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  let refusals = { count: 0, reply: '' };
  const secureContext = options.tls ? tls.createSecureContext({ cert: options.cert, key: options.key }) : undefined;

  // One connection's conversation; after STARTTLS it goes on, from a fresh state, on the TLS socket.
  const converse = (socket: net.Socket, encrypted: boolean) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let helo = '';
    let user: string | undefined;
    let login: { mechanism: 'LOGIN'; user?: string } | undefined;
    let from: string | undefined;
    let to: string[] = [];
    let data: string[] | undefined;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const tryLogin = (mechanism: string, name: string, password: string) => {
      const accepted = options.auth !== undefined && name === options.auth.user && password === options.auth.password;
      logins.push({ mechanism, user: name, password, accepted, encrypted });
      if (accepted) user = name;
      reply(accepted ? '235 2.7.0 authentication successful' : '535 5.7.8 authentication credentials invalid');
    };
    const onLine = (line: string): boolean => {
      if (data) {
        if (line === '.') {
          const message = data.join('\r\n');
          received.push({ helo, from: from ?? '', to, data: message, ...parse(message), encrypted, ...(user === undefined ? {} : { user }) });
          data = undefined;
          from = undefined;
          to = [];
          reply('250 2.0.0 queued');
        } else {
          data.push(line.startsWith('.') ? line.slice(1) : line);
        }
        return true;
      }
      commands.push(line);
      if (login) {
        const text = Buffer.from(line, 'base64').toString('utf8');
        if (login.user === undefined) {
          login.user = text;
          reply('334 UGFzc3dvcmQ6');
        } else {
          const name = login.user;
          login = undefined;
          tryLogin('LOGIN', name, text);
        }
        return true;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') {
        helo = line.slice(5);
        const extensions = ['8BITMIME'];
        if (options.tls === 'starttls' && !encrypted) extensions.push('STARTTLS');
        if (options.auth) extensions.push(`AUTH ${options.auth.mechanisms.join(' ')}`);
        reply('250-test.smtp.invalid greets you');
        extensions.forEach((e, i) => reply(`250${i === extensions.length - 1 ? ' ' : '-'}${e}`));
      } else if (verb === 'HELO') {
        helo = line.slice(5);
        reply('250 test.smtp.invalid');
      } else if (/^STARTTLS$/i.test(line) && options.tls === 'starttls' && !encrypted) {
        reply('220 2.0.0 ready to start TLS');
        socket.removeAllListeners('data');
        converse(new tls.TLSSocket(socket, { isServer: true, secureContext: secureContext! }), true);
        return false;
      } else if (/^AUTH PLAIN /i.test(line) && options.auth?.mechanisms.includes('PLAIN')) {
        const [, name = '', password = ''] = Buffer.from(line.slice(11), 'base64').toString('utf8').split('\0');
        tryLogin('PLAIN', name, password);
      } else if (/^AUTH LOGIN$/i.test(line) && options.auth?.mechanisms.includes('LOGIN')) {
        login = { mechanism: 'LOGIN' };
        reply('334 VXNlcm5hbWU6');
      } else if (/^MAIL FROM:<([^>]*)>/i.test(line)) {
        if (!helo) reply('503 5.5.1 EHLO first');
        else if (options.auth && user === undefined) reply('530 5.7.0 authentication required');
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
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!onLine(line)) return;
      }
    });
    if (!encrypted || options.tls === 'implicit') reply('220 test.smtp.invalid ESMTP ready');
  };

  const server = options.tls === 'implicit'
    ? tls.createServer({ cert: options.cert, key: options.key }, (socket) => converse(socket, true))
    : net.createServer((socket) => converse(socket, false));
  // A client that refuses the certificate ends the handshake; the server notes it and goes on.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    received,
    logins,
    commands,
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

export interface RelayCertificates {
  /** The PEM file of the CA that signed both certificates: trust it with `caFile`. */
  readonly caFile: string;
  /** For 127.0.0.1 and localhost. */
  readonly cert: string;
  readonly key: string;
  /** For other.example: valid, but not for this host. */
  readonly otherNameCert: string;
  readonly otherNameKey: string;
}

/** A CA made fresh in `dir` by openssl (nothing in Node's bundle trusts it) and the relay certificates it signs. */
export function makeRelayCertificates(dir: string): RelayCertificates {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Tollstream test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  for (const [name, san] of [['relay', 'IP:127.0.0.1,DNS:localhost'], ['other', 'DNS:other.example']] as const) {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  }
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  return { caFile: path.join(dir, 'ca.pem'), cert: read('relay.pem'), key: read('relay.key'), otherNameCert: read('other.pem'), otherNameKey: read('other.key') };
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
