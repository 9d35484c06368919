/**
 * Builds ES modules with esbuild: a user's handler (TypeScript or JavaScript, with the files and packages it
 * imports) into one self-contained module the server stores, and the worker thread's own code into one module
 * that loads without this repository's TypeScript hooks (worker threads do not inherit them).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TollstreamError } from '../core/errors.ts';

/** Lets bundled CommonJS packages `require` Node's built-ins from inside an ES module. */
const REQUIRE_BANNER = "import { createRequire as __tollstreamCreateRequire } from 'node:module'; const require = __tollstreamCreateRequire(import.meta.url);";

async function build(entry: string, plugins: import('esbuild').Plugin[], banner?: string): Promise<string> {
  const { build: esbuild } = await import('esbuild');
  const out = await esbuild({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    ...(banner === undefined ? {} : { banner: { js: banner } }),
    plugins,
  });
  return out.outputFiles[0]!.text;
}

/**
 * Bundles the handler module at `file` into one ES module (its own imports included). Throws
 * FUNCTION_CODE_INVALID with esbuild's first messages when it does not build.
 */
export async function bundleHandler(file: string): Promise<string> {
  const entry = path.resolve(file);
  try {
    return await build(entry, [], REQUIRE_BANNER);
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const detail = errors?.length
      ? errors
          .slice(0, 3)
          .map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text))
          .join('; ')
      : (err as Error).message;
    throw new TollstreamError('FUNCTION_CODE_INVALID', `the handler ${file} does not build: ${detail}`, { context: { handler: file }, cause: err });
  }
}

let threadEntry: Promise<URL> | undefined;

/**
 * The worker thread's module: compiled (lib/, `npm run build`), handler-thread.js as it is; from the sources,
 * handler-thread.ts and what it imports built once per process, as a data: URL.
 */
export function handlerThreadEntry(): Promise<URL> {
  if (import.meta.url.endsWith('.js')) return Promise.resolve(new URL('./handler-thread.js', import.meta.url));
  threadEntry ??= (async () => {
    // The native SQLite binding cannot be bundled: it is imported from where this process found it.
    const sqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
    // Bundled CommonJS packages (pg, through the tables' door) require Node's built-ins: a data: URL module has no
    // file of its own to require from, so it requires from this one.
    const banner = `import { createRequire as __tollstreamCreateRequire } from 'node:module'; const require = __tollstreamCreateRequire(${JSON.stringify(import.meta.url)});`;
    const code = await build(
      fileURLToPath(new URL('./handler-thread.ts', import.meta.url)),
      [{ name: 'native-sqlite', setup: (b) => void b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: sqlite, external: true })) }],
      banner,
    );
    return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  })();
  threadEntry.catch(() => (threadEntry = undefined));
  return threadEntry;
}
