import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger', () => {
  it('drops and counts lines it cannot write, never throwing, and says how many were lost once it can write again', () => {
    const lines: string[] = [];
    let full = true;
    const logger = createLogger({
      write: (line) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        lines.push(line);
      },
    });
    const child = logger.child({ component: 'log' });
    expect(() => logger.error('first')).not.toThrow();
    expect(() => child.warn('second')).not.toThrow();
    expect(logger.lostLines()).toBe(2);
    expect(child.lostLines()).toBe(2);

    full = false;
    child.info('third');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ level: 'warn', lostLines: 2 }, { msg: 'third', component: 'log' }]);
    logger.info('fourth');
    expect(lines).toHaveLength(3);
    expect(logger.lostLines()).toBe(2);
  });
});

describe('logger fields', () => {
  it('writes a line whatever its fields hold: a bigint, a cycle', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle.self = cycle;
    expect(() => logger.info('odd fields', { big: 2n ** 70n, cycle, plain: 'x' })).not.toThrow();
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.any(String), level: 'info', msg: 'odd fields', big: '1180591620717411303424', cycle: '[object Object]', plain: 'x' });
  });
});
