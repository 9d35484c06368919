/**
 * Building a handler module: a TypeScript file with its own imports becomes one ES module that loads alone;
 * a file that does not build is refused naming the file and line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleHandler } from './bundle.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-bundle-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('bundleHandler', () => {
  it('builds a TypeScript handler and the files it imports into one module that loads from anywhere', async () => {
    const src = folder({
      'handler.ts': "import { double } from './math.ts';\nimport { createHash } from 'node:crypto';\nexport const handler = (n: number): string => createHash('sha256').update(String(double(n))).digest('hex').slice(0, 8);\n",
      'math.ts': 'export function double(n: number): number {\n  return n * 2;\n}\n',
    });
    const code = await bundleHandler(path.join(src, 'handler.ts'));
    const elsewhere = folder({ 'built.mjs': code });
    const mod = (await import(pathToFileURL(path.join(elsewhere, 'built.mjs')).href)) as { handler: (n: number) => string };
    expect(mod.handler(21)).toBe('73475cb4');
  });

  it('refuses a handler that does not build, naming the file and line', async () => {
    const src = folder({ 'broken.ts': 'export function handler( {\n' });
    await expect(bundleHandler(path.join(src, 'broken.ts'))).rejects.toMatchObject({ code: 'FUNCTION_CODE_INVALID', message: expect.stringMatching(/broken\.ts:\d+:\d+/) });
    await expect(bundleHandler(path.join(src, 'missing.ts'))).rejects.toMatchObject({ code: 'FUNCTION_CODE_INVALID' });
  });
});
