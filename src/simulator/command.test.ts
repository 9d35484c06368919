import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulateCommand, runSummary, UsageError } from './command.ts';

describe('tollstream simulate', () => {
  it('writes the requested number of records to an NDJSON file, repeatably', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-sim-'));
    const args = ['--to', 'file', '--fast', '--start', '2026-11-26T08:00:00Z', '--count', '1200', '--seed', '42', '--batch', '100'];
    expect(await runSimulateCommand([...args, '--out', path.join(dir, 'a.ndjson')])).toBe(0);
    expect(await runSimulateCommand([...args, '--out', path.join(dir, 'b.ndjson')])).toBe(0);
    const a = fs.readFileSync(path.join(dir, 'a.ndjson'), 'utf8');
    expect(a).toBe(fs.readFileSync(path.join(dir, 'b.ndjson'), 'utf8'));
    const lines = a.trim().split('\n');
    expect(lines).toHaveLength(1200);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ currency: 'USD' });
    // Event time starts at --start; a record may be out of order (up to 20 s) or late (up to an hour).
    expect(first.event_time >= '2026-11-26T07:00:00').toBe(true);
    const onTime = lines.filter((l) => (JSON.parse(l) as { event_time: string }).event_time >= '2026-11-26T08:00:00');
    expect(onTime.length).toBeGreaterThan(lines.length * 0.9);
  });

  it('draws, without --customers, a population as large as the rate needs: no customer crosses every few seconds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-sim-'));
    const out = path.join(dir, 'pop.ndjson');
    // 20,000 records at the default 1000/s: 20 s of traffic, in which a real customer crosses once at most.
    expect(await runSimulateCommand(['--to', 'file', '--out', out, '--fast', '--start', '2026-11-26T08:00:00Z', '--count', '20000'])).toBe(0);
    const perCustomer = new Map<string, number>();
    for (const line of fs.readFileSync(out, 'utf8').trim().split('\n')) {
      const id = (JSON.parse(line) as { customer_id: string }).customer_id;
      perCustomer.set(id, (perCustomer.get(id) ?? 0) + 1);
    }
    expect(perCustomer.size).toBeGreaterThan(19_000);
    expect(Math.max(...perCustomer.values())).toBeLessThanOrEqual(3);
  });

  it('plants a drop given on the command line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-sim-'));
    const out = path.join(dir, 'drop.ndjson');
    const code = await runSimulateCommand([
      '--to', 'file', '--out', out, '--fast', '--start', '2026-11-26T08:00:00Z', '--count', '3000', '--plazas', '3',
      '--drop', 'P01@2026-11-26T08:00:00Z/2026-11-26T09:00:00Z',
    ]);
    expect(code).toBe(0);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.plaza_id === 'P01' && r.event_time >= '2026-11-26T08:00' && r.event_time < '2026-11-26T09:00')).toHaveLength(0);
    expect(rows.filter((r) => r.plaza_id === 'P02').length).toBeGreaterThan(0);
  });

  it('rejects contradictory and malformed flags with a message naming them', async () => {
    await expect(runSimulateCommand(['--fast', '--rate', '10'])).rejects.toThrow(UsageError);
    await expect(runSimulateCommand(['--to', 'file', '--count', 'many'])).rejects.toThrow(/--count must be an integer/);
    await expect(runSimulateCommand(['--drop', 'P01'])).rejects.toThrow(/--drop must look like/);
    await expect(runSimulateCommand(['--bogus'])).rejects.toThrow(/bogus/);
  });

  it('says in its summary when the rate asked for was not reached', () => {
    const stats = { sent: 10_526, accepted: 10_500, failed: 0, duplicatesSent: 26, elapsedMs: 32_700 };
    expect(runSummary(stats, 2000)).toBe('sent 10526 records (26 retries) in 32.7 s: 10500 accepted, 0 failed, 321 records/s (asked for 2000: the server or this machine could not keep up)\n');
    expect(runSummary(stats, 330)).toBe('sent 10526 records (26 retries) in 32.7 s: 10500 accepted, 0 failed, 321 records/s\n');
    expect(runSummary(stats, undefined)).toBe('sent 10526 records (26 retries) in 32.7 s: 10500 accepted, 0 failed, 321 records/s\n');
  });
});
