/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2. Node's `allowHTTP1` needs TLS (it picks by ALPN), so each
 * connection's first bytes are read: the HTTP/2 client preface goes to an http2 server, anything else to
 * an http server, both running the same handler. The bytes read are put back on the socket first.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Logger } from '../core/logger.ts';
import type { Request, Response } from './http.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** A connection that sends nothing for this long before its first request is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 30_000;
/** How long `close()` waits for in-flight requests before cutting connections. */
const DEFAULT_DRAIN_MS = 10_000;

export type Handler = (req: Request, res: Response) => void;

export interface ListeningServer {
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then closes every connection. */
  close(drainMs?: number): Promise<void>;
  /** True once `close` was called. */
  readonly closing: boolean;
}

export function createProtocolServer(handler: Handler, logger: Logger): ListeningServer {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closing = false;

  const tracked: Handler = (req, res) => {
    inFlight++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
      if (inFlight === 0) idle?.();
    };
    res.once('finish', finish);
    res.once('close', finish);
    // Keep-alive connections are not reused once the server is closing.
    if (closing && req.httpVersionMajor === 1) (res as http.ServerResponse).shouldKeepAlive = false;
    handler(req, res);
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, tracked);
  const h2 = http2.createServer(
    {
      // Large PutRecords bodies: a bigger flow-control window than the 64 KiB default avoids stalls.
      settings: { initialWindowSize: 4 * 1024 * 1024 },
      maxSessionMemory: 64,
    },
    tracked,
  );
  h2.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', (err) => logger.debug('http2 session error', { err }));
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(16 * 1024 * 1024);
    });
    if (closing) session.close();
  });
  h2.on('sessionError', (err) => logger.debug('http2 session error', { err }));

  // Responses go out as soon as they are written (no Nagle delay behind a delayed ACK).
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Errors (resets, garbage) end only this connection; the protocol servers add their own handling.
    socket.on('error', (err) => logger.debug('connection error', { err }));
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      // Wait for more bytes only while they could still be the HTTP/2 preface.
      if (head.length < PREFACE.length && head.subarray(0, n).equals(PREFACE.subarray(0, n))) return;
      socket.removeListener('data', onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, PREFACE.length).equals(PREFACE)) {
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });

  return {
    get closing() {
      return closing;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          resolve({ port: (server.address() as net.AddressInfo).port });
        });
      });
    },
    async close(drainMs = DEFAULT_DRAIN_MS) {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      h1.closeIdleConnections();
      for (const session of sessions) session.close();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
