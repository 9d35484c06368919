/**
 * `tollstream simulate` follows the conventions of the other commands: the shared help layout, `--debug` for
 * stack traces, and the clean "cannot reach tollstream" error.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

describe('tollstream simulate on the command line', () => {
  it('prints its help in the shared usage/options layout, with the common options', async () => {
    const help = await runCli(['simulate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: tollstream simulate \[options\]$/m);
    expect(help.stdout).toMatch(/^options:$/m);
    expect(help.stdout).toMatch(/^\s+--rate N\s+records per second/m);
    expect(help.stdout).toMatch(/^\s+--endpoint URL\s+the server/m);
    expect(help.stdout).toMatch(/^\s+--debug\s+print stack traces of errors$/m);
    expect(help.stdout).toMatch(/^\s+-h, --help\s+show this help$/m);
    expect(help.stdout).not.toMatch(/^Usage:/m);
  });

  it('takes --debug: the unreachable error then comes with its stack trace', async () => {
    const plain = await runCli(['simulate', '--to', 'native', '--endpoint', 'http://127.0.0.1:9', '--count', '10']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: cannot reach tollstream at http:\/\/127\.0\.0\.1:9 .*\(UNREACHABLE\)$/m);
    expect(plain.stderr).not.toMatch(/^\s+at /m);

    const debug = await runCli(['simulate', '--debug', '--to', 'native', '--endpoint', 'http://127.0.0.1:9', '--count', '10']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^error: cannot reach tollstream at http:\/\/127\.0\.0\.1:9 .*\(UNREACHABLE\)$/m);
    expect(debug.stderr).toMatch(/^\s+at /m);
    expect(debug.stderr).toMatch(/^caused by: /m);
  });

  it('refuses an unknown option as a usage error pointing at its help', async () => {
    const bad = await runCli(['simulate', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown option '--bogus'$/m);
    expect(bad.stderr).toContain("run 'tollstream simulate --help' for usage");
  });
});
