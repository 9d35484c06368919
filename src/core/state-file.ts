/**
 * State files: small files that say where things stand (stream metadata, query definitions and checkpoints).
 * A flipped bit in one must never be read as a valid state, so each starts with one text line naming its
 * kind, its layout version, its body's length and a CRC32C, then the body as it was given:
 *
 *   tollstream-state/1 <kind> v<version> <bodyBytes> crc32c=<8 hex digits>\n<body>
 *
 * The CRC covers the line up to its last space (so a damaged kind, version or length is caught too) and the
 * body. A JSON body stays readable (`tail -n +2 file | jq`). Files written before the header existed are
 * recognised by `legacy` and read once: their owner rewrites them in this layout at once.
 */
import { crc32c } from './crc32c.ts';
import { writeFileAtomic } from './durable-files.ts';

const MAGIC = 'tollstream-state/1';
/** The header line is short; a file whose first newline comes later is not a state file. */
const MAX_HEADER_BYTES = 256;
const HEADER = /^tollstream-state\/1 ([a-z0-9-]+) v(\d{1,6}) (\d{1,15}) crc32c=([0-9a-f]{8})$/;

export interface StateFormat {
  /** What the file holds (`stream-metadata`, `query-checkpoint`, ...); a file of another kind is refused. */
  readonly kind: string;
  /** The body's layout version written and read; a file of another version is refused. */
  readonly version: number;
  /** Recognises a whole file written before state files had a header. */
  readonly legacy?: (bytes: Buffer) => boolean;
}

export type StateRead =
  | { readonly ok: true; readonly body: Buffer; readonly legacy: boolean }
  | { readonly ok: false; readonly detail: string };

function prefixOf(format: StateFormat, bodyBytes: number): string {
  return `${MAGIC} ${format.kind} v${format.version} ${bodyBytes}`;
}

export function encodeStateFile(format: StateFormat, body: string | Uint8Array): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const prefix = Buffer.from(prefixOf(format, bytes.length), 'utf8');
  const crc = crc32c(bytes, 0, bytes.length, crc32c(prefix));
  return Buffer.concat([prefix, Buffer.from(` crc32c=${crc.toString(16).padStart(8, '0')}\n`, 'utf8'), bytes]);
}

/** Checks a state file's bytes; never throws. `detail` says what is wrong, for the caller's error. */
export function decodeStateFile(format: StateFormat, bytes: Buffer): StateRead {
  if (!bytes.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC, 'utf8'))) {
    if (format.legacy?.(bytes)) return { ok: true, body: bytes, legacy: true };
    return { ok: false, detail: `it does not start with '${MAGIC}'` };
  }
  const newline = bytes.indexOf(0x0a);
  if (newline < 0 || newline > MAX_HEADER_BYTES) return { ok: false, detail: 'its header line is damaged' };
  const header = HEADER.exec(bytes.toString('latin1', 0, newline));
  if (!header) return { ok: false, detail: 'its header line is damaged' };
  const [, kind, version, length, crc] = header;
  const body = bytes.subarray(newline + 1);
  if (Number(length) !== body.length) return { ok: false, detail: `its header gives ${length} bytes of content but ${body.length} follow (truncated or damaged)` };
  const prefixEnd = bytes.lastIndexOf(0x20, newline);
  const actual = crc32c(body, 0, body.length, crc32c(bytes, 0, prefixEnd));
  if (actual !== parseInt(crc!, 16)) return { ok: false, detail: `CRC32C mismatch (stored ${crc}, computed ${actual.toString(16).padStart(8, '0')})` };
  if (kind !== format.kind) return { ok: false, detail: `it holds a ${kind}, not a ${format.kind}` };
  if (Number(version) !== format.version) {
    return { ok: false, detail: `it has layout version ${version}; this version of Tollstream reads version ${format.version} (written by another release?)` };
  }
  return { ok: true, body, legacy: false };
}

/** Replaces `file` atomically with `body` under a state header. */
export async function writeStateFile(file: string, format: StateFormat, body: string | Uint8Array): Promise<void> {
  await writeFileAtomic(file, encodeStateFile(format, body));
}
