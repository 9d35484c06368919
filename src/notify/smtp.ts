/**
 * A small SMTP client (RFC 5321): one connection per message, EHLO, MAIL FROM, RCPT TO, DATA, QUIT. It reaches a
 * local relay in plain SMTP, or a real one (a provider's submission port) encrypted, by STARTTLS (RFC 3207) or
 * TLS from the first byte (RFC 8314, port 465), with the server's certificate verified, and logs in with AUTH
 * PLAIN or LOGIN (RFC 4954), never sending the password over a connection that is not encrypted unless told to.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { TollstreamError, type ErrorCode } from '../core/errors.ts';

export interface MailMessage {
  /** `alerts@example.com` or `ABC Tolls <alerts@example.com>`. */
  readonly from: string;
  /** One address. */
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** Without the angle brackets, e.g. `breach-C1-2026-11@tollstream`. */
  readonly messageId: string;
  readonly date: Date;
  /**
   * Where the recipient stops these mails: sent as `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058:
   * mail clients offer an unsubscribe button that POSTs to it), an https or http URL.
   */
  readonly unsubscribeUrl?: string;
}

/**
 * How the connection is encrypted: `off` plain SMTP; `starttls` plain until EHLO, then upgraded by STARTTLS (a
 * server that does not offer it is refused, never spoken to in the clear); `implicit` TLS from the first byte.
 */
export type SmtpTls = 'off' | 'starttls' | 'implicit';

export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  readonly helloName: string;
  /** @default 'off' */
  readonly tls?: SmtpTls;
  /**
   * A PEM file of CA certificates trusted for the server's certificate besides Node's bundled ones (a private CA,
   * or a self-signed relay's own certificate). Read at each connection. The certificate is always verified.
   */
  readonly caFile?: string;
  /** Log in after EHLO (and after STARTTLS): AUTH PLAIN when the server offers it, else AUTH LOGIN. */
  readonly auth?: SmtpCredentials;
  /** Send `auth` over a connection that is not encrypted (`tls: 'off'`). @default false */
  readonly allowAuthWithoutTls?: boolean;
}

/** What secures the connection to a relay, apart from where it is. */
export type SmtpSecurity = Pick<SmtpServer, 'tls' | 'caFile' | 'auth' | 'allowAuthWithoutTls'>;

/** The security of a relay from flat settings (as `alerts.email` holds them): a login only with both user and password. */
export function smtpSecurity(settings: { readonly tls?: SmtpTls; readonly caFile?: string; readonly user?: string; readonly password?: string; readonly allowAuthWithoutTls?: boolean }): SmtpSecurity {
  const { tls: security = 'off', caFile, user, password, allowAuthWithoutTls = false } = settings;
  return { tls: security, ...(caFile === undefined ? {} : { caFile }), ...(user !== undefined && password !== undefined ? { auth: { user, password } } : {}), allowAuthWithoutTls };
}

export interface SmtpCredentials {
  readonly user: string;
  readonly password: string;
}

/**
 * A failed send, with its code: SMTP_UNAVAILABLE (no connection, no answer, a 4xx reply), SMTP_REJECTED (a 5xx
 * reply to the mail), SMTP_AUTH_FAILED (the login refused), SMTP_TLS_FAILED (no encryption, or a certificate that
 * does not verify), INVALID_ARGUMENT (an address). `permanent` when this message can never go (a 5xx reply to it, a
 * bad address): the delivery is given up at once. A refused login or certificate is not permanent: it concerns
 * the sender's settings, not the message, so the delivery waits in its retries for them to be put right.
 */
export class SmtpError extends TollstreamError {
  readonly permanent: boolean;
  constructor(code: ErrorCode, message: string, options: { permanent: boolean; context?: Record<string, unknown>; cause?: unknown }) {
    super(code, message, { ...(options.context ? { context: options.context } : {}), ...(options.cause === undefined ? {} : { cause: options.cause }) });
    this.name = 'SmtpError';
    this.permanent = options.permanent;
  }
}

const ADDRESS = /^[^\s<>()@,;:"\\[\]]+@[^\s<>()@,;:"\\[\]]+$/;

/** The bare address of `alerts@example.com` or `Name <alerts@example.com>`, or undefined when it is neither. */
export function mailAddress(text: string): string | undefined {
  const m = /^(?:[^<>\r\n]*<([^<>\r\n]+)>|([^<>\r\n]+))$/.exec(text.trim());
  const address = (m?.[1] ?? m?.[2])?.trim();
  return address !== undefined && ADDRESS.test(address) && address.length <= 254 ? address : undefined;
}

/** The message as it goes after DATA: headers, a base64 UTF-8 text body, CRLF line ends, dot-stuffed. */
export function formatMessage(mail: MailMessage): string {
  const body = Buffer.from(mail.text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64');
  const lines = [
    `From: ${headerText(mail.from)}`,
    `To: ${mail.to}`,
    `Subject: ${headerText(mail.subject)}`,
    `Date: ${mail.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${mail.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    'Auto-Submitted: auto-generated',
    ...(mail.unsubscribeUrl !== undefined ? [`List-Unsubscribe: <${mail.unsubscribeUrl.replace(/[\s<>]/g, encodeURIComponent)}>`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'] : []),
    '',
    ...(body.match(/.{1,76}/g) ?? []),
  ];
  return lines.map((line) => (line.startsWith('.') ? `.${line}` : line)).join('\r\n');
}

/** A header value: ASCII as it is (line breaks removed), anything else as an RFC 2047 encoded word. */
function headerText(value: string): string {
  const oneLine = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(oneLine) ? oneLine : `=?utf-8?B?${Buffer.from(oneLine, 'utf8').toString('base64')}?=`;
}

/** Sends one message; resolves once the server accepted it (250 after the data). */
export async function sendMail(server: SmtpServer, mail: MailMessage, options: { signal?: AbortSignal; timeoutMs: number }): Promise<void> {
  const from = mailAddress(mail.from);
  const to = mailAddress(mail.to);
  if (from === undefined) throw new SmtpError('INVALID_ARGUMENT', `the sender '${mail.from}' is not an email address`, { permanent: true });
  if (to === undefined) throw new SmtpError('INVALID_ARGUMENT', `the recipient '${mail.to}' is not an email address`, { permanent: true });
  const security = server.tls ?? 'off';
  if (server.auth && security === 'off' && server.allowAuthWithoutTls !== true) {
    throw new SmtpError('SMTP_TLS_FAILED', `will not send the SMTP password to ${server.host}:${server.port} over a connection that is not encrypted: use STARTTLS or implicit TLS, or allow login without TLS explicitly`, { permanent: false, context: { host: server.host, port: server.port } });
  }
  const conversation = new SmtpConversation(server, options);
  try {
    await conversation.open();
    await conversation.expect(220, undefined);
    let extensions = await conversation.ehlo();
    if (security === 'starttls') {
      if (!extensions.has('STARTTLS')) throw conversation.error('SMTP_TLS_FAILED', 'does not offer STARTTLS, so the mail would go unencrypted');
      await conversation.expect(220, 'STARTTLS');
      await conversation.startTls();
      // The extensions said before the handshake may have been altered on the way: ask again (RFC 3207, 4.2).
      extensions = await conversation.ehlo();
    }
    if (server.auth) await logIn(conversation, server.auth, extensions);
    await conversation.expect(250, `MAIL FROM:<${from}>`);
    await conversation.expect([250, 251], `RCPT TO:<${to}>`);
    await conversation.expect(354, 'DATA');
    await conversation.expect(250, `${formatMessage(mail)}\r\n.`, 'the message');
    await conversation.expect(221, 'QUIT').catch(() => undefined);
  } finally {
    conversation.close();
  }
}

/** AUTH PLAIN (one line) when offered, else AUTH LOGIN (user and password each on their own line), RFC 4954. */
async function logIn(conversation: SmtpConversation, auth: SmtpCredentials, extensions: ReadonlyMap<string, string>): Promise<void> {
  const offered = (extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/).filter((m) => m !== '');
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  if (offered.includes('PLAIN')) {
    await conversation.expect(235, `AUTH PLAIN ${b64(`\0${auth.user}\0${auth.password}`)}`, 'AUTH PLAIN', 'SMTP_AUTH_FAILED');
  } else if (offered.includes('LOGIN')) {
    await conversation.expect(334, 'AUTH LOGIN', 'AUTH LOGIN', 'SMTP_AUTH_FAILED');
    await conversation.expect(334, b64(auth.user), 'the user name', 'SMTP_AUTH_FAILED');
    await conversation.expect(235, b64(auth.password), 'the password', 'SMTP_AUTH_FAILED');
  } else {
    throw conversation.error('SMTP_AUTH_FAILED', offered.length === 0 ? 'offers no login (AUTH), yet a user is set' : `offers no login this client speaks (PLAIN, LOGIN), only ${offered.join(' ')}`);
  }
}

/** TCP error codes: the server could not be reached, which a retry may mend, unlike a TLS failure. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/** One connection: write a command, read its (possibly multi-line) reply; upgraded in place by STARTTLS. */
class SmtpConversation {
  readonly #server: SmtpServer;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #where: string;
  #socket: net.Socket | undefined;
  #buffer = '';
  #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #failure: Error | undefined;

  constructor(server: SmtpServer, options: { signal?: AbortSignal; timeoutMs: number }) {
    this.#server = server;
    this.#timeoutMs = options.timeoutMs;
    this.#signal = options.signal;
    this.#where = `${server.host}:${server.port}`;
  }

  /** Connects; with implicit TLS, also completes the handshake. */
  async open(): Promise<void> {
    const { host, port } = this.#server;
    const signal = this.#signal;
    if (signal) {
      const onAbort = () => this.#fail(this.error('SMTP_UNAVAILABLE', 'sending was stopped'));
      if (signal.aborted) throw this.error('SMTP_UNAVAILABLE', 'sending was stopped');
      signal.addEventListener('abort', onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (this.#server.tls === 'implicit') await this.#use(tls.connect({ host, port, ...this.#tlsOptions() }), 'secureConnect');
    else await this.#use(net.connect({ host, port }), 'connect');
  }

  /** Takes the connection over into TLS after the server's 220 to STARTTLS. */
  async startTls(): Promise<void> {
    const plain = this.#socket!;
    plain.removeAllListeners('data').removeAllListeners('close').removeAllListeners('error').setTimeout(0);
    // Nothing read before the handshake may count as a reply after it (RFC 3207, 6: command injection).
    this.#buffer = '';
    this.#lines = [];
    await this.#use(tls.connect({ socket: plain, host: this.#server.host, ...this.#tlsOptions() }), 'secureConnect');
  }

  /** EHLO; the extensions the server offers, by keyword (`AUTH` -> `PLAIN LOGIN`). */
  async ehlo(): Promise<Map<string, string>> {
    const reply = await this.#exchange(250, `EHLO ${this.#server.helloName}`, 'EHLO');
    const extensions = new Map<string, string>();
    for (const line of reply.lines.slice(1)) {
      const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
      if (m) extensions.set(m[1]!.toUpperCase(), m[2] ?? '');
    }
    return extensions;
  }

  /**
   * Sends `command` (unless undefined: the greeting) and checks the reply's code. `label` names the command in
   * errors (never its text, which may hold a password); `failure` is the code of a refusal, by default
   * SMTP_REJECTED for a 5xx reply and SMTP_UNAVAILABLE for any other.
   */
  async expect(codes: number | readonly number[], command: string | undefined, label?: string, failure?: ErrorCode): Promise<string> {
    return (await this.#exchange(codes, command, label, failure)).lines.join(' ');
  }

  /** An SmtpError naming this server: `what` follows "the SMTP server host:port". */
  error(code: ErrorCode, what: string, cause?: unknown): SmtpError {
    return new SmtpError(code, `the SMTP server ${this.#where} ${what}`, { permanent: false, context: { host: this.#server.host, port: this.#server.port }, cause });
  }

  close(): void {
    this.#socket?.destroy();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  readonly #cleanups: Array<() => void> = [];

  async #exchange(codes: number | readonly number[], command: string | undefined, label?: string, failure?: ErrorCode): Promise<{ code: number; lines: string[] }> {
    if (command !== undefined) this.#socket!.write(`${command}\r\n`);
    const reply = await this.#reply();
    const accepted = typeof codes === 'number' ? [codes] : codes;
    if (!accepted.includes(reply.code)) {
      const sent = label ?? (command === undefined ? 'the greeting' : command.split(' ')[0]);
      const code = failure ?? (reply.code >= 500 ? 'SMTP_REJECTED' : 'SMTP_UNAVAILABLE');
      throw new SmtpError(code, `the SMTP server ${this.#where} answered ${sent} with ${reply.code} ${reply.lines.join(' ')}`, {
        permanent: code === 'SMTP_REJECTED',
        context: { host: this.#server.host, port: this.#server.port, reply: reply.code },
      });
    }
    return reply;
  }

  #tlsOptions(): tls.ConnectionOptions {
    const { host, caFile } = this.#server;
    let ca: string[] | undefined;
    if (caFile !== undefined) {
      try {
        ca = [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')];
      } catch (err) {
        throw this.error('SMTP_TLS_FAILED', `cannot be verified: the CA file ${caFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
      }
    }
    // SNI carries a name, never an address; the certificate is checked against the host either way.
    return { minVersion: 'TLSv1.2', ...(net.isIP(host) === 0 ? { servername: host } : {}), ...(ca ? { ca } : {}) };
  }

  /** Reads replies from `socket` from now on; resolves once it is `ready` (connected, or its handshake done). */
  #use(socket: net.Socket, ready: 'connect' | 'secureConnect'): Promise<void> {
    this.#socket = socket;
    let handshaking = ready === 'secureConnect';
    socket.setTimeout(this.#timeoutMs, () => this.#fail(this.error('SMTP_UNAVAILABLE', `did not answer within ${this.#timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => {
      // Replies are ASCII (RFC 5321, 2.4); latin1 cannot split a character across chunks.
      this.#buffer += chunk.toString('latin1');
      let end: number;
      while ((end = this.#buffer.indexOf('\n')) >= 0) {
        this.#lines.push(this.#buffer.slice(0, end).replace(/\r$/, ''));
        this.#buffer = this.#buffer.slice(end + 1);
      }
      this.#wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (handshaking && !CONNECTION_ERRORS.has(code)) {
        this.#fail(this.error('SMTP_TLS_FAILED', `failed the TLS handshake: ${code ? `${code}: ` : ''}${err.message}${/CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(code) ? ' (trust its CA with the CA file setting)' : ''}`, err));
      } else {
        this.#fail(this.error('SMTP_UNAVAILABLE', `cannot be reached: ${code || err.message}`, err));
      }
    });
    socket.on('close', () => this.#fail(this.error('SMTP_UNAVAILABLE', 'closed the connection')));
    return new Promise<void>((resolve, reject) => {
      socket.once(ready, () => {
        handshaking = false;
        resolve();
      });
      socket.once('close', () => reject(this.#failure));
    });
  }

  async #reply(): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.#line();
      const m = /^(\d{3})([ -])(.*)$/.exec(line);
      if (!m) throw this.error('SMTP_UNAVAILABLE', `sent a line that is not a reply: ${line.slice(0, 100)}`);
      lines.push(m[3]!);
      if (m[2] === ' ') return { code: Number(m[1]), lines };
    }
  }

  async #line(): Promise<string> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#socket?.destroy();
    this.#wake();
  }
}
