/** Dotted attribute paths (`limits.monthly`) into JSON objects. */
import { TollstreamError } from '../core/errors.ts';
import type { JsonObject, JsonValue } from './types.ts';

export function readPath(value: JsonObject, path: string): JsonValue | undefined {
  if (!path.includes('.')) return Object.hasOwn(value, path) ? value[path] : undefined;
  let current: JsonValue | undefined = value;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, part) ? (current as JsonObject)[part] : undefined;
  }
  return current;
}

/** Sets `path` in `target` (mutated; it must be a fresh copy), creating missing parent objects. */
export function writePath(target: Record<string, unknown>, path: string, value: JsonValue): void {
  if (!path.includes('.')) {
    target[path] = value;
    return;
  }
  const parts = path.split('.');
  let current = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const next = current[part];
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      current[part] = created;
      current = created;
    } else if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      current = next as Record<string, unknown>;
    } else {
      throw new TollstreamError('INVALID_ARGUMENT', `cannot set '${path}': '${parts.slice(0, i + 1).join('.')}' is not an object`, {
        context: { path },
      });
    }
  }
  current[parts[parts.length - 1] as string] = value;
}

export function removePath(target: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let current: unknown = target;
  for (let i = 0; i < parts.length - 1; i++) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return;
    current = (current as Record<string, unknown>)[parts[i] as string];
  }
  if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
    delete (current as Record<string, unknown>)[parts[parts.length - 1] as string];
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export function assertPath(path: unknown, what: string): asserts path is string {
  if (typeof path === 'string' && path !== '' && !path.includes('.') && !FORBIDDEN.has(path)) return;
  if (typeof path !== 'string' || path === '' || path.split('.').some((p) => p === '' || FORBIDDEN.has(p))) {
    throw new TollstreamError('INVALID_ARGUMENT', `${what} '${String(path)}' is not an attribute path like 'total_cents' or 'limits.monthly'`, {
      context: { path },
    });
  }
}
