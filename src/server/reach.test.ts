import { describe, expect, it } from 'vitest';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { openWhenReachable } from './reach.ts';

describe('opening what a cluster node shares', () => {
  it('says once that it cannot reach it, keeps trying, and says when it got through', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const logger = createLogger({ level: 'info', write: (l) => void lines.push(JSON.parse(l) as { level: string; msg: string }) });
    let attempts = 0;
    const opened = await openWhenReachable(
      'the query store',
      async () => {
        if (++attempts < 3) throw new TollstreamError('TABLES_UNAVAILABLE', 'connection refused');
        return 'store';
      },
      (err) => isTollstreamError(err, 'TABLES_UNAVAILABLE'),
      logger,
      {},
      10,
    );
    expect(opened).toBe('store');
    expect(attempts).toBe(3);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'cannot reach the query store, retrying every 10 ms: connection refused'],
      ['info', 'reached the query store'],
    ]);
  });

  it('throws at once a failure that is not the other side out of reach', async () => {
    let attempts = 0;
    const open = openWhenReachable(
      'the query store',
      async () => {
        attempts++;
        throw new TollstreamError('CONFIG_INVALID', 'bad schema name');
      },
      (err) => isTollstreamError(err, 'TABLES_UNAVAILABLE'),
      createLogger({ level: 'silent' }),
      {},
      10,
    );
    await expect(open).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(attempts).toBe(1);
  });
});
