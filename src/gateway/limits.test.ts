import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/index.ts';
import { createLogger } from '../core/logger.ts';
import { openFilesLimit } from '../core/open-files.ts';
import { withinOpenFiles } from './limits.ts';

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63432                63432                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('connections within the open-file limit', () => {
  it('reads the soft limit on open files, and nothing where it is unlimited or unknown', () => {
    expect(openFilesLimit(PROC_LIMITS)).toBe(1024);
    expect(openFilesLimit(PROC_LIMITS.replace('1024 ', 'unlimited'))).toBeUndefined();
    expect(openFilesLimit('')).toBeUndefined();
  });

  it('lowers the cap on connections to half the open files, and says so', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line) });
    expect(withinOpenFiles(DEFAULT_CONFIG.http, 256, logger).maxConnections).toBe(128);
    expect(lines.join('\n')).toContain('http.maxConnections is lowered');
    lines.length = 0;
    expect(withinOpenFiles(DEFAULT_CONFIG.http, 1024, logger)).toEqual(DEFAULT_CONFIG.http);
    expect(withinOpenFiles(DEFAULT_CONFIG.http, undefined, logger)).toEqual(DEFAULT_CONFIG.http);
    expect(lines).toEqual([]);
  });
});
