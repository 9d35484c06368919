/**
 * `tollstream customers ...` against a real `tollstream up`: create, list, set a threshold, issue a token the
 * customer app accepts, revoke it; and the shared CLI conventions (help layout, usage errors, server not reachable).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startUp, tempDir, type UpProcess } from './helpers.ts';

let server: UpProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('customers');
  server = await startUp(['--data-dir', dataDir]);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, '--endpoint', server.url]);

async function me(token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('tollstream customers', () => {
  it('creates, lists, sets a threshold, issues a token the app accepts and revokes it', async () => {
    const created = await cli('customers', 'create', 'C0000042', '--email', 'ada@example.com', '--name', 'Ada Lovelace');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created customer C0000042$/m);
    expect(created.stdout).toMatch(/^threshold:\s+none$/m);
    expect((await cli('customers', 'create', 'C0000007', '--email', 'c7@example.com')).code).toBe(0);

    const again = await cli('customers', 'create', 'C0000042', '--email', 'other@example.com');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: customer 'C0000042' already exists.*\(INVALID_ARGUMENT\)$/m);

    const threshold = await cli('customers', 'threshold', 'C0000042', '25.50');
    expect(threshold.code).toBe(0);
    expect(threshold.stdout).toMatch(/^threshold:\s+25\.50$/m);

    const list = await cli('customers', 'list');
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+EMAIL\s+TIME ZONE\s+THRESHOLD$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['C0000007', 'C0000007', 'c7@example.com', expect.any(String), 'none'],
      ['C0000042', 'Ada Lovelace', 'ada@example.com', expect.any(String), '25.50 USD'],
    ]);
    const json = JSON.parse((await cli('customers', 'list', '--json')).stdout) as Array<{ customer_id: string; threshold_cents: number | null }>;
    expect(json.map((c) => [c.customer_id, c.threshold_cents])).toEqual([['C0000007', null], ['C0000042', 2550]]);

    const issued = await cli('customers', 'issue-token', 'C0000042', '--json');
    expect(issued.code).toBe(0);
    const { token, token_id } = JSON.parse(issued.stdout) as { token: string; token_id: string };
    expect(await me(token)).toMatchObject({ status: 200, body: { customer_id: 'C0000042', name: 'Ada Lovelace', threshold_cents: 2550 } });

    const text = await cli('customers', 'issue-token', 'C0000042');
    expect(text.stdout).toMatch(/^token:\s+\S{43}$/m);
    expect(text.stdout).toContain(`${server.url}/app/`);

    const cleared = await cli('customers', 'threshold', 'C0000042', 'none');
    expect(cleared.stdout).toMatch(/^threshold:\s+none$/m);
    expect((await me(token)).body.threshold_cents).toBeNull();

    const revoked = await cli('customers', 'revoke-token', 'C0000042', token_id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked token ${token_id} of customer C0000042\n`);
    expect((await me(token)).status).toBe(401);
    const twice = await cli('customers', 'revoke-token', 'C0000042', token_id);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/\(NOT_FOUND\)$/m);
  });

  it('refuses a bad amount or a missing email as usage errors, before any request', async () => {
    const amount = await cli('customers', 'threshold', 'C0000042', '25.505');
    expect(amount.code).toBe(2);
    expect(amount.stderr).toMatch(/^error: '25\.505' is not an amount/m);
    const email = await cli('customers', 'create', 'C0000099');
    expect(email.code).toBe(2);
    expect(email.stderr).toMatch(/^error: missing --email/m);
  });

  it('shares the help layout and the clean error when no server answers', async () => {
    const help = await runCli(['customers', 'threshold', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: tollstream customers threshold ID AMOUNT \[options\]$/m);
    expect(help.stdout).toMatch(/^\s+--endpoint URL\s+the server/m);
    const top = await runCli(['--help']);
    for (const c of ['customers create', 'customers list', 'customers threshold', 'customers issue-token', 'customers revoke-token']) expect(top.stdout).toContain(c);
    const group = await runCli(['customers']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain("'tollstream customers' needs a subcommand");

    const down = await runCli(['customers', 'list', '--endpoint', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot reach tollstream at http:\/\/127\.0\.0\.1:9 .*\(UNREACHABLE\)$/m);
  });
});
