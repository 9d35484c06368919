import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStateFile, encodeStateFile, writeStateFile } from './state-file.ts';
import type { StateFormat } from './state-file.ts';

const FORMAT: StateFormat = { kind: 'test-state', version: 2, legacy: (b) => b[0] === 0x7b };
const BODY = JSON.stringify({ shard: 'shardId-000000000001', position: '49590338271490256608559692538361571095921575989136588898' }, null, 2) + '\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state files', () => {
  it('read back what was written, from a real file', async () => {
    const file = path.join(dir, 'a.json');
    await writeStateFile(file, FORMAT, BODY);
    const read = decodeStateFile(FORMAT, await readFile(file));
    expect(read).toMatchObject({ ok: true, legacy: false });
    expect(read.ok && read.body.toString('utf8')).toBe(BODY);
  });

  it('refuse every single flipped bit, in the header and in the body', async () => {
    const file = path.join(dir, 'b.json');
    await writeStateFile(file, FORMAT, BODY);
    const bytes = await readFile(file);
    let refused = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(bytes);
        damaged[i] = damaged[i]! ^ (1 << bit);
        const read = decodeStateFile(FORMAT, damaged);
        expect(read.ok, `byte ${i} bit ${bit}`).toBe(false);
        refused++;
      }
    }
    expect(refused).toBe(bytes.length * 8);
  });

  it('refuse a truncated file, another kind and another layout version', () => {
    const bytes = encodeStateFile(FORMAT, BODY);
    expect(decodeStateFile(FORMAT, bytes.subarray(0, bytes.length - 1))).toMatchObject({ ok: false, detail: expect.stringContaining('truncated') });
    expect(decodeStateFile({ ...FORMAT, kind: 'other-state' }, bytes)).toMatchObject({ ok: false, detail: expect.stringContaining('not a other-state') });
    expect(decodeStateFile({ ...FORMAT, version: 3 }, bytes)).toMatchObject({ ok: false, detail: expect.stringContaining('layout version 2') });
    expect(decodeStateFile(FORMAT, Buffer.alloc(0))).toMatchObject({ ok: false });
  });

  it('read a file of the layout before headers only when its owner recognises it', () => {
    const old = Buffer.from(BODY);
    expect(decodeStateFile(FORMAT, old)).toMatchObject({ ok: true, legacy: true });
    expect(decodeStateFile({ kind: FORMAT.kind, version: FORMAT.version }, old)).toMatchObject({ ok: false });
    expect(decodeStateFile(FORMAT, Buffer.from('garbage'))).toMatchObject({ ok: false });
  });
});
