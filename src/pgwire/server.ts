/**
 * The PostgreSQL port: a TCP listener on a loopback address whose connections are sessions over the warehouse.
 * Bounded like the HTTP port: a cap on open connections, and a connection that has not authenticated within
 * `authTimeoutMs` is closed.
 */
import net from 'node:net';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { QuerySlots, Warehouse } from '../warehouse/index.ts';
import { backend } from './messages.ts';
import { scramVerifier } from './scram.ts';
import { Session } from './session.ts';

export interface PgWireOptions {
  readonly warehouse: Warehouse;
  /** The one user name clients sign in with. */
  readonly user: string;
  /** Its password, or a SCRAM-SHA-256 verifier in PostgreSQL's format (`SCRAM-SHA-256$4096:...`). */
  readonly password: string;
  /** Query slots, shared with the HTTP routes so the server-wide bound covers both; the caller is `pg:<user>`. */
  readonly slots: QuerySlots;
  /** Most rows of one answer; past it the statement fails with SQLSTATE 54000. */
  readonly maxResultRows: number;
  /** Open connections at most; more are refused with SQLSTATE 53300. @default 64 */
  readonly maxConnections?: number;
  /** A connection must finish authenticating within this, in ms. @default 10000 */
  readonly authTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface PgWireServer {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening, ends every connection (a running query is interrupted). */
  close(): Promise<void>;
}

export async function startPgWireServer(options: PgWireOptions, port: number, host: string): Promise<PgWireServer> {
  const logger = (options.logger ?? silentLogger).child({ component: 'pgwire' });
  const maxConnections = options.maxConnections ?? 64;
  const authTimeoutMs = options.authTimeoutMs ?? 10_000;
  const backendVersion = await options.warehouse.query('SELECT version()').then((r) => String(r.rows[0]?.[0] ?? ''), () => '');
  const sessions = new Map<number, Session>();
  const context = {
    warehouse: options.warehouse,
    user: options.user,
    verifier: scramVerifier(options.password),
    slots: options.slots,
    maxResultRows: options.maxResultRows,
    version: `PostgreSQL 15.0 (Tollstream warehouse${backendVersion ? `, DuckDB ${backendVersion}` : ''})`,
    logger,
    sessions,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    if (sockets.size >= maxConnections) {
      socket.end(backend.error({ severity: 'FATAL', code: '53300', message: `sorry, too many clients already (at most ${maxConnections})` }));
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    const session = new Session(socket, context);
    const timer = setTimeout(() => {
      if (!sessions.has(session.processId)) socket.destroy();
    }, authTimeoutMs);
    timer.unref();
    socket.on('close', () => {
      clearTimeout(timer);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TollstreamError('IO_ERROR', `cannot listen for PostgreSQL clients on ${host}:${port}: ${err.message}`, { context: { host, port }, cause: err })));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  logger.info('serving the warehouse to PostgreSQL clients', { host, port: bound, user: options.user });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
