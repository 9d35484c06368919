/**
 * A small SMTP client (RFC 5321) over node:net: one connection per message, EHLO, MAIL FROM, RCPT TO, DATA,
 * QUIT. It speaks plain SMTP to a relay the operator runs (a local Postfix or the organisation's relay that
 * accepts this host); it does not authenticate and does not start TLS.
 */
import net from 'node:net';

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

export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  readonly helloName: string;
}

/** A failed send. `permanent` when the server said no for good (a 5xx reply): retrying will not help. */
export class SmtpError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'SmtpError';
    this.permanent = permanent;
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
  if (from === undefined) throw new SmtpError(`the sender '${mail.from}' is not an email address`, true);
  if (to === undefined) throw new SmtpError(`the recipient '${mail.to}' is not an email address`, true);
  const conversation = new SmtpConversation(server, options);
  try {
    await conversation.opened;
    await conversation.expect(220, undefined);
    await conversation.expect(250, `EHLO ${server.helloName}`);
    await conversation.expect(250, `MAIL FROM:<${from}>`);
    await conversation.expect([250, 251], `RCPT TO:<${to}>`);
    await conversation.expect(354, 'DATA');
    await conversation.expect(250, `${formatMessage(mail)}\r\n.`);
    await conversation.expect(221, 'QUIT').catch(() => undefined);
  } finally {
    conversation.close();
  }
}

/** One connection: write a command, read its (possibly multi-line) reply. */
class SmtpConversation {
  readonly opened: Promise<void>;
  readonly #socket: net.Socket;
  #buffer = '';
  #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #failure: Error | undefined;

  constructor(server: SmtpServer, options: { signal?: AbortSignal; timeoutMs: number }) {
    this.#socket = net.connect({ host: server.host, port: server.port });
    this.#socket.setEncoding('utf8');
    this.#socket.setTimeout(options.timeoutMs, () => this.#fail(new SmtpError(`the SMTP server ${server.host}:${server.port} did not answer within ${options.timeoutMs} ms`, false)));
    this.opened = new Promise<void>((resolve) => this.#socket.once('connect', resolve));
    this.#socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let end: number;
      while ((end = this.#buffer.indexOf('\n')) >= 0) {
        this.#lines.push(this.#buffer.slice(0, end).replace(/\r$/, ''));
        this.#buffer = this.#buffer.slice(end + 1);
      }
      this.#wake();
    });
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(new SmtpError(`cannot talk to the SMTP server ${server.host}:${server.port}: ${err.code ?? err.message}`, false)));
    this.#socket.on('close', () => this.#fail(new SmtpError(`the SMTP server ${server.host}:${server.port} closed the connection`, false)));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.#fail(new SmtpError('sending was stopped', false));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      this.#socket.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    // A failure before the connection opens must reject `opened` too.
    this.opened = Promise.race([this.opened, new Promise<never>((_, reject) => this.#socket.once('close', () => reject(this.#failure)))]);
    this.opened.catch(() => undefined);
  }

  /** Sends `command` (unless undefined) and checks the reply's code. */
  async expect(codes: number | readonly number[], command: string | undefined): Promise<string> {
    if (command !== undefined) this.#socket.write(`${command}\r\n`);
    const reply = await this.#reply();
    const accepted = typeof codes === 'number' ? [codes] : codes;
    if (!accepted.includes(reply.code)) {
      const sent = command === undefined ? 'the greeting' : command.startsWith('From:') || command.includes('\r\n') ? 'the message' : command.split(' ')[0];
      throw new SmtpError(`the SMTP server answered ${sent} with ${reply.code} ${reply.text}`, reply.code >= 500);
    }
    return reply.text;
  }

  close(): void {
    this.#socket.destroy();
  }

  async #reply(): Promise<{ code: number; text: string }> {
    const texts: string[] = [];
    for (;;) {
      const line = await this.#line();
      const m = /^(\d{3})([ -])(.*)$/.exec(line);
      if (!m) throw new SmtpError(`the SMTP server sent a line that is not a reply: ${line.slice(0, 100)}`, false);
      texts.push(m[3]!);
      if (m[2] === ' ') return { code: Number(m[1]), text: texts.join(' ') };
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
    this.#socket.destroy();
    this.#wake();
  }
}
