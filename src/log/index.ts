/**
 * The stream log: the one public door. Callers use the `StreamLog` interface; `openEmbeddedLog`
 * gives the embedded on-disk backend.
 */
export type * from './types.ts';
