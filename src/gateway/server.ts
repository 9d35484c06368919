/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2. Node's `allowHTTP1` needs TLS (it picks by ALPN), so each
 * connection's first bytes are read: the HTTP/2 client preface goes to an http2 server, anything else to
 * an http server, both running the same handler. The bytes read are put back on the socket first.
 *
 * The server also holds the limits of `HttpLimits`: how many connections, how long a connection may take to
 * send its first bytes or headers or stay idle, and each request's allowance of body bytes and stall time.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { HttpLimits } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { isHttp1, type Request, type Response } from './http.ts';
import { BodyAllowance, BodyBudget, grantBodyAllowance } from './limits.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** How long `close()` waits for in-flight requests before cutting connections. */
const DEFAULT_DRAIN_MS = 10_000;

export type Handler = (req: Request, res: Response) => void;

/** What the server's limits did so far, for /metrics. */
export interface ProtocolServerStats {
  readonly openConnections: number;
  /** Connections closed as soon as accepted because `maxConnections` were open. */
  readonly refusedConnections: number;
  readonly bodyBytesInFlight: number;
  /** Request bodies refused because `maxBodyBytesInFlight` were being received. */
  readonly refusedBodies: number;
}

export interface ListeningServer {
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), then closes every connection. */
  close(drainMs?: number): Promise<void>;
  /** True once `close` was called. */
  readonly closing: boolean;
  stats(): ProtocolServerStats;
}

export function createProtocolServer(handler: Handler, logger: Logger, limits: HttpLimits): ListeningServer {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const budget = new BodyBudget(limits.maxBodyBytesInFlight);
  let refusedConnections = 0;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closing = false;

  const tracked: Handler = (req, res) => {
    inFlight++;
    const allowance = new BodyAllowance(budget, limits.bodyTimeoutMs);
    grantBodyAllowance(req, allowance);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      allowance.end();
      inFlight--;
      if (inFlight === 0) idle?.();
    };
    res.once('finish', finish);
    res.once('close', finish);
    // A response sent before the client finished its body (refused, timed out) ends the stream: RST_STREAM with
    // NO_ERROR tells the client to stop sending (RFC 9113, 8.1), as closing the connection does over HTTP/1.1.
    if (!isHttp1(req)) {
      const stream = req.stream;
      // The stream's own 'finish' (our side sent): the response's 'finish' waits for the stream to close.
      stream.once('finish', () => {
        if (!stream.destroyed && !stream.closed && stream.state.remoteClose === 0) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      });
    }
    // Keep-alive connections are not reused once the server is closing.
    if (closing && req.httpVersionMajor === 1) (res as http.ServerResponse).shouldKeepAlive = false;
    handler(req, res);
  };

  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // How often Node looks for requests past their headers (or 300 s request) timeout.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 2)),
    },
    tracked,
  );
  // Node starts those checks when a server starts listening. This one never listens (the connections are
  // handed to it), so without this event no header or request timeout would ever fire.
  h1.emit('listening');
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
    // An idle session (no frames either way, no stream open) is closed with GOAWAY, as an idle HTTP/1.1
    // keep-alive connection is. A stream whose body stalls is ended by the body timeout instead.
    let openStreams = 0;
    session.on('stream', (stream) => {
      openStreams++;
      stream.once('close', () => openStreams--);
    });
    session.setTimeout(limits.idleTimeoutMs, () => {
      if (openStreams === 0) session.close();
    });
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
    // The bytes that tell the protocol must all arrive within the headers timeout (however slowly they trickle).
    const firstBytes = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
    socket.once('close', () => clearTimeout(firstBytes));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      // Wait for more bytes only while they could still be the HTTP/2 preface.
      if (head.length < PREFACE.length && head.subarray(0, n).equals(PREFACE.subarray(0, n))) return;
      socket.removeListener('data', onData);
      clearTimeout(firstBytes);
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
  // Beyond the cap a connection is closed as soon as it is accepted, before any of its bytes are read.
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refusedConnections++);

  return {
    get closing() {
      return closing;
    },
    stats: () => ({
      openConnections: sockets.size,
      refusedConnections,
      bodyBytesInFlight: budget.inFlightBytes,
      refusedBodies: budget.refusedBodies,
    }),
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
      // Stops the header and request timeout checks; Node reports that this server never listened, which it knows.
      h1.close(() => undefined);
      await stopped;
    },
  };
}
