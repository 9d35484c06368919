import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveInside } from './confined-path.ts';
import { isTollstreamError } from './errors.ts';

let base: string;
let root: string;
beforeEach(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-confined-')));
  root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sub', 'ok.csv'), 'a\n');
  fs.writeFileSync(path.join(base, 'outside.csv'), 'secret\n');
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

async function refusal(requested: string): Promise<Record<string, unknown>> {
  const err = await resolveInside(root, requested, 'reference table t').catch((e: unknown) => e);
  expect(isTollstreamError(err, 'PATH_NOT_ALLOWED')).toBe(true);
  return (err as { context: Record<string, unknown> }).context;
}

describe('resolveInside', () => {
  it('gives the real path of a file inside the root, named relative to it or absolutely', async () => {
    expect(await resolveInside(root, 'sub/ok.csv', 't')).toBe(path.join(root, 'sub', 'ok.csv'));
    expect(await resolveInside(root, path.join(root, 'sub', 'ok.csv'), 't')).toBe(path.join(root, 'sub', 'ok.csv'));
    expect(await resolveInside(root, 'sub/../sub/./ok.csv', 't')).toBe(path.join(root, 'sub', 'ok.csv'));
  });

  it('refuses absolute paths elsewhere and .. escapes, naming the path and the root', async () => {
    expect(await refusal(path.join(base, 'outside.csv'))).toMatchObject({ path: path.join(base, 'outside.csv'), allowedDir: root });
    expect(await refusal('../outside.csv')).toMatchObject({ path: '../outside.csv', allowedDir: root });
    expect(await refusal('sub/../../outside.csv')).toMatchObject({ allowedDir: root });
    expect(await refusal('/etc/passwd')).toMatchObject({ allowedDir: root });
    expect(await refusal('.')).toMatchObject({ allowedDir: root });
  });

  it('refuses a symbolic link, of the file or of a directory on the way, that leads out of the root', async () => {
    fs.symlinkSync(path.join(base, 'outside.csv'), path.join(root, 'link.csv'));
    fs.symlinkSync(base, path.join(root, 'up'));
    expect(await refusal('link.csv')).toMatchObject({ realPath: path.join(base, 'outside.csv') });
    expect(await refusal('up/outside.csv')).toMatchObject({ realPath: path.join(base, 'outside.csv') });
  });

  it('follows links that stay inside, and a root that is itself a link', async () => {
    fs.symlinkSync(path.join(root, 'sub', 'ok.csv'), path.join(root, 'alias.csv'));
    expect(await resolveInside(root, 'alias.csv', 't')).toBe(path.join(root, 'sub', 'ok.csv'));
    const linkedRoot = path.join(base, 'linked-root');
    fs.symlinkSync(root, linkedRoot);
    expect(await resolveInside(linkedRoot, 'sub/ok.csv', 't')).toBe(path.join(root, 'sub', 'ok.csv'));
  });

  it('fails as the file system does for a missing file inside the root', async () => {
    await expect(resolveInside(root, 'missing.csv', 't')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
