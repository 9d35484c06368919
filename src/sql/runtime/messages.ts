/** What travels between operators, in band and in order: data, watermarks, checkpoint barriers, end of data. */
import type { Row } from '../expr/types.ts';

export type Message =
  | { readonly kind: 'data'; readonly rows: Row[] }
  /** No row with an event time below `time` (ms) will follow. +Infinity at the end of a bounded input. */
  | { readonly kind: 'watermark'; readonly time: number }
  /** Snapshot your state now: every row before this barrier is in it, none after. */
  | { readonly kind: 'barrier'; readonly id: number }
  | { readonly kind: 'end' }
  /** A live run is stopping: leave at once, without closing windows (the last checkpoint holds the state). */
  | { readonly kind: 'cancel' };
