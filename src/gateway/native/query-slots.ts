/**
 * Who is asking, for the warehouse's query slots (src/warehouse/query-slots.ts), which the HTTP routes share.
 */
import crypto from 'node:crypto';
import type { Request } from '../http.ts';

export { QuerySlots, type QuerySlotLimits } from '../../warehouse/index.ts';

/**
 * Who is asking: the API key when the request carries one (only its hash is kept), else the client's
 * address. Without configured keys anyone can send a made-up key, which is why the server-wide bound exists.
 */
export function callerOf(req: Request): string {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') {
    return `key:${crypto.createHash('sha256').update(authorization).digest('hex').slice(0, 32)}`;
  }
  return `address:${req.socket?.remoteAddress ?? 'unknown'}`;
}
