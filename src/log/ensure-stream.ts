/**
 * `ensureStream`: the stream as it is, created with `config` first when missing. Safe when several callers
 * (or nodes) race to create it: whoever loses the race gets the winner's stream.
 */
import { isTollstreamError } from '../core/errors.ts';
import type { StreamConfig, StreamDescription, StreamLog } from './types.ts';

export async function ensureStream(log: StreamLog, name: string, config: StreamConfig): Promise<StreamDescription> {
  try {
    return await log.describeStream(name);
  } catch (err) {
    if (!isTollstreamError(err, 'STREAM_NOT_FOUND')) throw err;
  }
  try {
    return await log.createStream(name, config);
  } catch (err) {
    if (isTollstreamError(err, 'STREAM_EXISTS')) return await log.describeStream(name);
    throw err;
  }
}
