/**
 * The platform knows no app: no file of `src/` outside `src/apps/`, and no file of the platform's browser code
 * (`web/`: the console, the shared `web/src/ui` and `web/src/lib`, the build), imports from `src/apps/`, except
 * the entry points that read the one list of shipped apps (`src/apps/index.ts`, read by `tollstream up`), of their
 * commands (`src/apps/commands.ts`, read by the command line) and of their pages (`src/apps/web.ts`, read by the
 * build). An app's pages import the platform's browser code, never the other way. An app reaches the platform only
 * through public doors, so a new app needs no edit of the platform and a platform change breaks no app in secret,
 * and implements the contract's types rather than copies of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const WEB = fileURLToPath(new URL('../../web/', import.meta.url));
const APPS = path.join(SRC, 'apps');
/**
 * The entry points, each with the one list it may read: the apps the server ships with, which `up` hands to the
 * server, and their `tollstream` commands, which the command line lists with its own.
 */
const ENTRY_POINTS = new Map([
  [path.join(SRC, 'cli', 'commands', 'up.ts'), path.join(APPS, 'index.ts')],
  [path.join(SRC, 'cli', 'index.ts'), path.join(APPS, 'commands.ts')],
  [path.join(WEB, 'vite.config.ts'), path.join(APPS, 'web.ts')],
]);

/** Every module specifier of a file: `import ... from`, `export ... from`, `import('...')` and `import '...'`. */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"\n]+)\1/gm)) found.push(m[2]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

function isUnder(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** `file: specifier` for each import of an app by a platform file of `dir` (src/ or web/). */
function platformImportsOfApps(dir: string): string[] {
  const offences: string[] = [];
  for (const file of sourceFiles(dir)) {
    if (isUnder(file, APPS)) continue;
    for (const specifier of importSpecifiers(fs.readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (target !== APPS && !isUnder(target, APPS)) continue;
      if (ENTRY_POINTS.get(file) === target) continue;
      offences.push(`${path.relative(dir, file)}: ${specifier}`);
    }
  }
  return offences;
}

/**
 * The names of the types the app contract takes from the platform's doors (`RouteModule`, `StreamLog`...) and
 * declares itself (`App`, `AppContext`...): what an app implements or receives.
 */
function contractTypeNames(): Set<string> {
  const source = fs.readFileSync(path.join(SRC, 'app-contract', 'index.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of source.matchAll(/^import type \{([^}]+)\} from/gm)) for (const name of m[1]!.split(',')) names.add(name.trim());
  for (const m of source.matchAll(/^export (?:interface|type) (\w+)/gm)) names.add(m[1]!);
  return names;
}

/** `file: name` for each app file that declares a type of the contract's name, a copy that may drift from it. */
function appCopiesOfContractTypes(): string[] {
  const names = contractTypeNames();
  const offences: string[] = [];
  for (const file of sourceFiles(APPS)) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^(?:export )?(?:interface|type) (\w+)/gm)) {
      if (names.has(m[1]!)) offences.push(`${path.relative(SRC, file)}: ${m[1]}`);
    }
  }
  return offences;
}

describe('imports between the platform and the apps', () => {
  it('finds every form of import the sources use', () => {
    const source = [
      "import { a } from '../apps/x/index.ts';",
      "import type { B } from '../apps/y.ts';",
      "export { c } from './c.ts';",
      "  const m = await import('../../apps/z.ts');",
      "import './side-effect.ts';",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['../apps/x/index.ts', '../apps/y.ts', './c.ts', '../../apps/z.ts', './side-effect.ts']);
  });

  it('no platform file imports from src/apps except the entry points reading the lists of shipped apps and their commands', () => {
    expect(platformImportsOfApps(SRC)).toEqual([]);
  });

  it("no platform browser code (the console, web/src/ui, web/src/lib, the build) imports an app's pages, except the build reading the list of the shipped apps' pages", () => {
    expect(sourceFiles(WEB).map((f) => path.relative(WEB, f))).toContain(path.join('src', 'console', 'main.ts'));
    expect(platformImportsOfApps(WEB)).toEqual([]);
  });

  it("no app declares its own copy of a type of the app contract (its route modules are the gateway's RouteModule)", () => {
    expect(contractTypeNames()).toContain('RouteModule');
    expect(contractTypeNames()).toContain('AppContext');
    expect(appCopiesOfContractTypes()).toEqual([]);
  });
});
