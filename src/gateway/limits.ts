/**
 * The memory and time a request body may take: one budget of bytes shared by every body being received, and how
 * long a body may stall. The protocol server gives each request its allowance before any handler runs, and
 * `readBody` draws on it, so the bodies of every route (route modules included) count against the same budget.
 */
import type { HttpLimits } from '../config/index.ts';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Request } from './http.ts';

/** How long a client refused for lack of budget is told to wait before it retries, in seconds. */
export const BODY_RETRY_AFTER_SECONDS = 1;

/** Bytes reserved by the bodies of all requests in progress, against one limit. */
export class BodyBudget {
  private reserved = 0;
  private refused = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved now. */
  get inFlightBytes(): number {
    return this.reserved;
  }

  /** Bodies refused so far because the budget was spent. */
  get refusedBodies(): number {
    return this.refused;
  }

  tryReserve(bytes: number): boolean {
    if (this.reserved + bytes > this.limitBytes) {
      this.refused++;
      return false;
    }
    this.reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.reserved -= bytes;
  }
}

/** One request's share of the budget: grows as its body is read, is given back when the request ends. */
export class BodyAllowance {
  private reserved = 0;
  private ended = false;

  constructor(
    private readonly budget: BodyBudget,
    /** A body that receives nothing for this long is abandoned (REQUEST_TIMEOUT), in ms. */
    readonly stallTimeoutMs: number,
  ) {}

  /**
   * Makes sure `totalBytes` of this request's body are covered by the budget, reserving the difference. Throws
   * OVERLOADED when the budget cannot cover it: nothing more of this body may be read.
   */
  cover(totalBytes: number): void {
    if (this.ended || totalBytes <= this.reserved) return;
    const more = totalBytes - this.reserved;
    if (!this.budget.tryReserve(more)) {
      throw new TollstreamError(
        'OVERLOADED',
        'the server is receiving too many request bodies at once; retry in a moment',
        { context: { retryAfterSeconds: BODY_RETRY_AFTER_SECONDS, maxBodyBytesInFlight: this.budget.limitBytes } },
      );
    }
    this.reserved += more;
  }

  /** Gives the reserved bytes back; called once the response is done or the client is gone. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.budget.release(this.reserved);
    this.reserved = 0;
  }
}

const allowances = new WeakMap<Request, BodyAllowance>();

/** Called by the protocol server for each request, before its handler runs. */
export function grantBodyAllowance(req: Request, allowance: BodyAllowance): void {
  allowances.set(req, allowance);
}

/** The request's allowance, or undefined for a request that did not come through the protocol server. */
export function bodyAllowanceOf(req: Request): BodyAllowance | undefined {
  return allowances.get(req);
}

export function stalledBody(stallTimeoutMs: number): TollstreamError {
  return new TollstreamError('REQUEST_TIMEOUT', `the request body received nothing for ${stallTimeoutMs} ms; the request is abandoned`, {
    context: { bodyTimeoutMs: stallTimeoutMs },
  });
}

/**
 * The limits with `maxConnections` lowered to half the process's open-file limit, when it is above that: each
 * connection holds a file descriptor, and the other half stays for the log's segments, the warehouse and the rest,
 * so that a flood of connections is refused at the door instead of failing the next file the log opens.
 */
export function withinOpenFiles(limits: HttpLimits, openFiles: number | undefined, logger: Logger): HttpLimits {
  if (openFiles === undefined) return limits;
  const cap = Math.max(1, Math.floor(openFiles / 2));
  if (limits.maxConnections <= cap) return limits;
  logger.warn('http.maxConnections is lowered to half the open-file limit, so that connections cannot take the files the log needs; raise the limit (ulimit -n) to accept more', {
    maxConnections: limits.maxConnections,
    openFilesLimit: openFiles,
    acceptedConnections: cap,
  });
  return { ...limits, maxConnections: cap };
}
