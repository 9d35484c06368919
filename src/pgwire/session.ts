/**
 * One client connection: startup and SCRAM authentication, then the simple query protocol (`Q`, rows streamed
 * as the warehouse produces them) and the extended one (Parse, Bind, Describe, Execute, Sync; a portal's rows
 * are fetched once, capped at `maxResultRows`, and handed out as Execute asks). Text format, and binary where asked (binary.ts). Every query
 * runs read-only, under the warehouse's time limit and a query slot of the connection's user.
 */
import crypto from 'node:crypto';
import type net from 'node:net';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { splitStatements, type QueryParams, type QuerySlots, type QueryValue, type Warehouse } from '../warehouse/index.ts';
import { mendCatalogQuery } from './catalog.ts';
import { answerSessionStatement, displayName, initialParameters, REPORTED_PARAMETERS, type SessionState } from './commands.ts';
import { pgError } from './errors.ts';
import { backend, CANCEL_REQUEST, FieldReader, GSSENC_REQUEST, MAX_MESSAGE_BYTES, MessageReader, PROTOCOL_3, SSL_REQUEST, type ColumnDescription, type FrontendMessage } from './messages.ts';
import { decodeBinaryParam, encodeBinaryValue, hasBinaryFormat } from './binary.ts';
import { ScramExchange, type ScramVerifier } from './scram.ts';
import { describeColumns, textValue, TEXT_OID } from './types.ts';

export interface SessionContext {
  readonly warehouse: Warehouse;
  readonly user: string;
  readonly verifier: ScramVerifier;
  readonly slots: QuerySlots;
  readonly maxResultRows: number;
  /** `version()`'s answer. */
  readonly version: string;
  readonly logger: Logger;
  /** Sessions by process id, for CancelRequest. */
  readonly sessions: Map<number, Session>;
}

interface PreparedStatement {
  readonly sql: string;
  readonly paramOids: readonly number[];
}

interface Portal {
  readonly statement: PreparedStatement;
  readonly params: QueryParams;
  /** As Bind gave them: none (all text), one for every column, or one per column; 1 is binary. */
  readonly resultFormats: readonly number[];
  result?: { columns: ColumnDescription[]; formats: number[]; rows: (readonly QueryValue[])[]; tag: string; sent: number };
}

type Phase = 'startup' | 'sasl-initial' | 'sasl-final' | 'ready' | 'closed';

export class Session {
  readonly processId: number;
  private readonly secretKey: number;
  private readonly reader = new MessageReader();
  private phase: Phase = 'startup';
  private startupUser = '';
  private scram: ScramExchange | undefined;
  private state: SessionState | undefined;
  private inTransaction = false;
  /** After an error in the extended protocol, messages are skipped until the next Sync. */
  private skipToSync = false;
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  private running: AbortController | undefined;
  private work: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: SessionContext,
  ) {
    do this.processId = crypto.randomInt(1, 2 ** 31 - 1);
    while (ctx.sessions.has(this.processId));
    this.secretKey = crypto.randomInt(0, 2 ** 31 - 1);
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('close', () => this.closed());
    socket.on('error', () => undefined);
  }

  /** CancelRequest from another connection: interrupts the running query when the key matches. */
  cancel(secretKey: number): void {
    if (secretKey === this.secretKey) this.running?.abort();
  }

  private receive(data: Buffer): void {
    let messages: FrontendMessage[];
    try {
      messages = this.reader.push(data);
    } catch (err) {
      this.fatal(err);
      return;
    }
    for (const message of messages) {
      this.work = this.work.then(() => (this.phase === 'closed' ? undefined : this.handle(message))).catch((err: unknown) => this.fatal(err));
    }
  }

  private closed(): void {
    this.phase = 'closed';
    this.running?.abort();
    this.ctx.sessions.delete(this.processId);
  }

  private fatal(err: unknown): void {
    if (this.phase === 'closed') return;
    const e = pgError(err);
    this.socket.end(backend.error({ severity: 'FATAL', code: e.code, message: e.message, detail: e.detail }));
    this.closed();
  }

  private send(...buffers: Buffer[]): boolean {
    if (this.phase === 'closed' || this.socket.destroyed) return true;
    return this.socket.write(buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers));
  }

  /** Waits until the socket took what was written (backpressure for large answers). */
  private async drained(full: boolean): Promise<void> {
    if (!full || this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async handle(message: FrontendMessage): Promise<void> {
    switch (this.phase) {
      case 'startup':
        return this.startup(message.body);
      case 'sasl-initial':
      case 'sasl-final':
        return this.authenticate(message);
      case 'ready':
        return this.command(message);
      case 'closed':
        return;
    }
  }

  // ---- startup and authentication ----

  private startup(body: Buffer): void {
    const fields = new FieldReader(body);
    const code = fields.int32();
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      // Loopback only, and no TLS: the client goes on in the clear (or gives up, as sslmode=require does).
      this.reader.expectStartup = true;
      this.socket.write('N');
      return;
    }
    if (code === CANCEL_REQUEST) {
      const processId = fields.int32();
      const secretKey = fields.int32();
      this.ctx.sessions.get(processId)?.cancel(secretKey);
      this.socket.end();
      this.closed();
      return;
    }
    if (code !== PROTOCOL_3) {
      throw new TollstreamError('MALFORMED_REQUEST', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: this server speaks 3.0`);
    }
    const params = new Map<string, string>();
    while (fields.remaining > 1) {
      const name = fields.cstring();
      params.set(name, fields.cstring());
    }
    this.startupUser = params.get('user') ?? '';
    this.state = { parameters: initialParameters(this.startupUser, params.get('application_name') ?? ''), version: this.ctx.version };
    this.phase = 'sasl-initial';
    this.send(backend.authentication(10, Buffer.from('SCRAM-SHA-256\0\0', 'utf8')));
  }

  private authenticate(message: FrontendMessage): void {
    if (message.type !== 'p') throw new TollstreamError('MALFORMED_REQUEST', `expected a password message, got '${message.type}'`);
    const fields = new FieldReader(message.body);
    if (this.phase === 'sasl-initial') {
      const mechanism = fields.cstring();
      if (mechanism !== 'SCRAM-SHA-256') throw new TollstreamError('UNAUTHORIZED', `authentication mechanism ${mechanism} is not offered; use SCRAM-SHA-256`);
      const length = fields.int32();
      const clientFirst = fields.bytes(length).toString('utf8');
      this.scram = new ScramExchange(this.ctx.verifier);
      this.phase = 'sasl-final';
      this.send(backend.authentication(11, Buffer.from(this.scram.serverFirstMessage(clientFirst), 'utf8')));
      return;
    }
    const clientFinal = fields.rest().toString('utf8');
    let serverFinal: string;
    try {
      serverFinal = this.scram!.serverFinalMessage(clientFinal);
      // Checked after the proof, so a wrong user name and a wrong password look alike.
      if (this.startupUser !== this.ctx.user) throw new TollstreamError('UNAUTHORIZED', 'unknown user');
    } catch (err) {
      this.ctx.logger.warn('refused a PostgreSQL client: wrong user or password', { user: this.startupUser, remote: this.socket.remoteAddress });
      throw new TollstreamError('UNAUTHORIZED', `password authentication failed for user "${this.startupUser}"`, { cause: err });
    }
    this.phase = 'ready';
    this.reader.maxMessageBytes = MAX_MESSAGE_BYTES;
    this.ctx.sessions.set(this.processId, this);
    const out = [backend.authentication(12, Buffer.from(serverFinal, 'utf8')), backend.authentication(0)];
    for (const name of REPORTED_PARAMETERS) out.push(backend.parameterStatus(displayName(name), this.state!.parameters.get(name) ?? ''));
    out.push(backend.backendKeyData(this.processId, this.secretKey), this.ready());
    this.send(...out);
  }

  private ready(): Buffer {
    return backend.readyForQuery(this.inTransaction ? 'T' : 'I');
  }

  // ---- commands ----

  private async command(message: FrontendMessage): Promise<void> {
    const fields = new FieldReader(message.body);
    if (message.type === 'X') {
      this.socket.end();
      this.closed();
      return;
    }
    if (message.type === 'S') {
      this.skipToSync = false;
      this.portals.delete('');
      this.send(this.ready());
      return;
    }
    // After an error of the extended protocol everything up to the Sync is dropped, a simple query too.
    if (this.skipToSync || message.type === 'H') return;
    if (message.type === 'Q') return this.simpleQuery(fields.cstring());
    try {
      switch (message.type) {
        case 'P':
          return this.parse(fields);
        case 'B':
          return this.bind(fields);
        case 'D':
          return await this.describe(fields);
        case 'E':
          return await this.execute(fields);
        case 'C': {
          const kind = fields.bytes(1).toString('latin1');
          const name = fields.cstring();
          if (kind === 'S') this.statements.delete(name);
          else this.portals.delete(name);
          this.send(backend.closeComplete());
          return;
        }
        default:
          throw new TollstreamError('MALFORMED_REQUEST', `unexpected message type '${message.type}'`);
      }
    } catch (err) {
      this.skipToSync = true;
      this.sendError(err);
    }
  }

  private sendError(err: unknown): void {
    const e = pgError(err);
    this.send(backend.error({ severity: 'ERROR', code: e.code, message: e.message, detail: e.detail }));
  }

  private async simpleQuery(sql: string): Promise<void> {
    // A simple query drops the unnamed statement and portal, as PostgreSQL does.
    this.statements.delete('');
    this.portals.delete('');
    const statements = splitStatements(sql);
    if (statements.length === 0) this.send(backend.emptyQuery());
    for (const statement of statements) {
      try {
        await this.runStreaming(statement);
      } catch (err) {
        this.sendError(err);
        break;
      }
    }
    this.send(this.ready());
  }

  /** One statement of a simple query: a session statement answered here, or the warehouse's rows as they come. */
  private async runStreaming(sql: string): Promise<void> {
    const answer = answerSessionStatement(sql, this.state!);
    if (answer) {
      this.applyTransaction(answer.transaction);
      if (answer.columns) this.send(backend.rowDescription(describeColumns(answer.columns)));
      for (const row of answer.rows ?? []) this.send(backend.dataRow(row.map((v) => textValue(v, TEXT_OID))));
      this.send(backend.commandComplete(answer.tag));
      return;
    }
    const max = this.ctx.maxResultRows;
    let columns: ColumnDescription[] = [];
    let count = 0;
    await this.withSlot((signal) =>
      this.ctx.warehouse.streamQuery(
        mendCatalogQuery(sql),
        {},
        {
          columns: (c) => {
            columns = describeColumns(c);
            this.send(backend.rowDescription(columns));
          },
          rows: async (rows) => {
            if (count + rows.length > max) throw tooManyRows(max);
            let full = false;
            for (const row of rows) full = !this.send(backend.dataRow(row.map((v, i) => textValue(v, columns[i]!.typeOid)))) || full;
            count += rows.length;
            await this.drained(full);
          },
        },
        { signal },
      ),
    );
    this.send(backend.commandComplete(commandTag(sql, count)));
  }

  private parse(fields: FieldReader): void {
    const name = fields.cstring();
    const sql = fields.cstring();
    const count = fields.int16();
    const paramOids: number[] = [];
    for (let i = 0; i < count; i++) paramOids.push(fields.int32());
    if (name !== '' && this.statements.has(name)) throw new TollstreamError('INVALID_ARGUMENT', `prepared statement "${name}" already exists`);
    const statements = splitStatements(sql);
    if (statements.length > 1) throw new TollstreamError('INVALID_ARGUMENT', 'cannot insert multiple commands into a prepared statement');
    this.statements.set(name, { sql: statements[0] ?? '', paramOids });
    this.send(backend.parseComplete());
  }

  private bind(fields: FieldReader): void {
    const portalName = fields.cstring();
    const statementName = fields.cstring();
    const statement = this.statements.get(statementName);
    if (!statement) throw new TollstreamError('NOT_FOUND', `prepared statement "${statementName}" does not exist`);
    const formatCount = fields.int16();
    const formats: number[] = [];
    for (let i = 0; i < formatCount; i++) formats.push(fields.int16());
    const paramCount = fields.int16();
    const params: Record<string, string | number | bigint | boolean | Date | null> = {};
    for (let i = 0; i < paramCount; i++) {
      const length = fields.int32();
      const format = formats.length === 1 ? formats[0] : formats[i] ?? 0;
      const bytes = length < 0 ? undefined : fields.bytes(length);
      // DuckDB names a positional parameter `$1` "1"; a text value converts to the type the query needs.
      params[String(i + 1)] = bytes === undefined ? null : format === 0 ? bytes.toString('utf8') : decodeBinaryParam(statement.paramOids[i] ?? 0, bytes);
    }
    const resultFormats: number[] = [];
    const resultFormatCount = fields.int16();
    for (let i = 0; i < resultFormatCount; i++) resultFormats.push(fields.int16());
    if (portalName !== '' && this.portals.has(portalName)) throw new TollstreamError('INVALID_ARGUMENT', `portal "${portalName}" already exists`);
    this.portals.set(portalName, { statement, params, resultFormats });
    this.send(backend.bindComplete());
  }

  private async describe(fields: FieldReader): Promise<void> {
    const kind = fields.bytes(1).toString('latin1');
    const name = fields.cstring();
    if (kind === 'S') {
      const statement = this.statements.get(name);
      if (!statement) throw new TollstreamError('NOT_FOUND', `prepared statement "${name}" does not exist`);
      const count = parameterCount(statement.sql);
      this.send(backend.parameterDescription(Array.from({ length: count }, (_, i) => statement.paramOids[i] || TEXT_OID)));
      const columns = await this.statementColumns(statement.sql, count);
      this.send(columns && columns.length > 0 ? backend.rowDescription(columns) : backend.noData());
      return;
    }
    const portal = this.portals.get(name);
    if (!portal) throw new TollstreamError('NOT_FOUND', `portal "${name}" does not exist`);
    const result = await this.fetchPortal(portal);
    this.send(result.columns.length > 0 ? backend.rowDescription(result.columns, result.formats) : backend.noData());
  }

  private async execute(fields: FieldReader): Promise<void> {
    const name = fields.cstring();
    const maxRows = fields.int32();
    const portal = this.portals.get(name);
    if (!portal) throw new TollstreamError('NOT_FOUND', `portal "${name}" does not exist`);
    const result = await this.fetchPortal(portal);
    const end = maxRows > 0 ? Math.min(result.rows.length, result.sent + maxRows) : result.rows.length;
    let full = false;
    for (let i = result.sent; i < end; i++) {
      full = !this.send(backend.dataRow(result.rows[i]!.map((v, c) => portalValue(v, result.columns[c]!.typeOid, result.formats[c]!)))) || full;
      if (full) {
        await this.drained(true);
        full = false;
      }
    }
    result.sent = end;
    this.send(end < result.rows.length ? backend.portalSuspended() : backend.commandComplete(result.tag));
  }

  /** Runs a portal's statement once (answered here, or by the warehouse with at most `maxResultRows` rows). */
  private async fetchPortal(portal: Portal): Promise<NonNullable<Portal['result']>> {
    if (portal.result) return portal.result;
    const sql = portal.statement.sql;
    if (sql.trim() === '') return (portal.result = { columns: [], formats: [], rows: [], tag: '', sent: 0 });
    const answer = answerSessionStatement(sql, this.state!);
    if (answer) {
      this.applyTransaction(answer.transaction);
      const columns = describeColumns(answer.columns ?? []);
      return (portal.result = { columns, formats: resultFormats(portal, columns), rows: [...(answer.rows ?? [])], tag: answer.tag, sent: 0 });
    }
    const result = await this.withSlot((signal) => this.ctx.warehouse.query(mendCatalogQuery(sql), portal.params, { maxRows: this.ctx.maxResultRows, signal }));
    const columns = describeColumns(result.columns);
    return (portal.result = { columns, formats: resultFormats(portal, columns), rows: [...result.rows], tag: commandTag(sql, result.rows.length), sent: 0 });
  }

  /** The columns a statement would return, found by running it with no rows; undefined when that cannot be told. */
  private async statementColumns(sql: string, paramCount: number): Promise<ColumnDescription[] | undefined> {
    const answer = answerSessionStatement(sql, this.state!);
    if (answer) return describeColumns(answer.columns ?? []);
    if (!/^\s*(SELECT|WITH|VALUES|TABLE)\b/i.test(sql)) return undefined;
    const params: Record<string, null> = {};
    for (let i = 1; i <= paramCount; i++) params[String(i)] = null;
    try {
      const result = await this.withSlot((signal) => this.ctx.warehouse.query(`SELECT * FROM (${mendCatalogQuery(sql).replace(/;\s*$/, '')}) AS described LIMIT 0`, params, { signal }));
      return describeColumns(result.columns);
    } catch {
      return undefined;
    }
  }

  private async withSlot<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const release = this.ctx.slots.acquire(`pg:${this.ctx.user}`);
    const controller = new AbortController();
    this.running = controller;
    try {
      return await run(controller.signal);
    } finally {
      this.running = undefined;
      release();
    }
  }

  private applyTransaction(change: 'begin' | 'end' | undefined): void {
    if (change === 'begin') this.inTransaction = true;
    else if (change === 'end') this.inTransaction = false;
  }
}

/** The CommandComplete tag of a warehouse statement: `SELECT n`, or EXPLAIN's own. */
function commandTag(sql: string, rows: number): string {
  return /^\s*EXPLAIN\b/i.test(sql) ? 'EXPLAIN' : `SELECT ${rows}`;
}

/** The highest `$n` in the text: how many parameters a statement takes. */
function parameterCount(sql: string): number {
  let max = 0;
  for (const m of sql.replace(/'(?:[^']|'')*'/g, "''").matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

function tooManyRows(max: number): TollstreamError {
  return new TollstreamError('WAREHOUSE_RESULT_TOO_LARGE', `the query returns more than ${max} rows, the most one answer holds (warehouse.maxResultRows); add a LIMIT or aggregate`, {
    context: { maxRows: max },
  });
}

/** Each column's format as Bind asked; a binary column of a type without a binary format here is refused. */
function resultFormats(portal: Portal, columns: readonly ColumnDescription[]): number[] {
  const asked = portal.resultFormats;
  return columns.map((c, i) => {
    const format = asked.length === 0 ? 0 : asked.length === 1 ? asked[0]! : asked[i] ?? 0;
    if (format !== 0 && format !== 1) throw new TollstreamError('MALFORMED_REQUEST', `unknown result format ${format}`);
    if (format === 1 && !hasBinaryFormat(c.typeOid)) {
      throw new TollstreamError('INVALID_ARGUMENT', `binary format of column "${c.name}" (type oid ${c.typeOid}) is not supported; ask for text format (JDBC: binaryTransfer=false)`, {
        context: { column: c.name, oid: c.typeOid },
      });
    }
    return format;
  });
}

/** A portal's value in the format its column was asked in. */
function portalValue(value: QueryValue, typeOid: number, format: number): string | Buffer | null {
  const text = textValue(value, typeOid);
  return text === null || format === 0 ? text : encodeBinaryValue(typeOid, value, text);
}
