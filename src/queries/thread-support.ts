/**
 * What the query manager's worker threads (the checkpoint thread, the query threads) share: how a thread is
 * booted from the sources or the compiled package, and how a TollstreamError crosses the thread boundary.
 */
import type { ErrorCode } from '../core/errors.ts';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';

/**
 * The `eval` source that starts the thread module `file` (its name in this folder, without extension).
 * Compiled (lib/, `npm run build`), the thread imports the compiled module; from the sources it runs them as
 * the entry points do (bin/ts-hooks.mjs).
 */
export function threadBoot(file: string): string {
  const compiled = import.meta.url.endsWith('.js');
  const thread = new URL(compiled ? `./${file}.js` : `./${file}.ts`, import.meta.url).href;
  return compiled
    ? `import(${JSON.stringify(thread)})`
    : `import('node:module').then((m) => { m.register(${JSON.stringify(new URL('../../bin/ts-hooks.mjs', import.meta.url).href)}); return import(${JSON.stringify(thread)}); })`;
}

/** An error as it crosses to another thread (a structured clone keeps no class). */
export interface WireError {
  readonly code: string | null;
  readonly message: string;
  readonly context: Record<string, unknown>;
}

export function toWireError(err: unknown): WireError {
  return {
    code: isTollstreamError(err) ? err.code : null,
    message: err instanceof Error ? err.message : String(err),
    context: isTollstreamError(err) ? err.context : {},
  };
}

export function fromWireError(wire: WireError): TollstreamError {
  return new TollstreamError((wire.code ?? 'INTERNAL') as ErrorCode, wire.message, { context: wire.context });
}
