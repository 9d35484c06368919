/**
 * Reads the values of a few named fields straight from the bytes of a JSON object, without building the
 * object: a live query needs 3 to 6 fields of records that carry 10 or more, and `JSON.parse` of the whole
 * text (every key and value a new string, one object per record) was the largest cost of a live query.
 *
 * The scanner (`core/json`) validates the whole text as strictly as `JSON.parse` does. The reader answers only
 * when the text is one JSON object whose wanted values are scalars; for anything else (invalid JSON, not an
 * object, a wanted value that is an object or array, nesting the scanner does not follow) it answers `false`
 * and the caller parses the text as before, so every result is exactly what `JSON.parse` then a property
 * lookup would give.
 */
import {
  JSON_ABSENT,
  JSON_FALSE,
  JSON_NULL,
  JSON_NUMBER,
  JSON_OBJECT,
  JSON_STRING,
  JSON_TRUE,
  JsonFields,
  type MemberSink,
  lastTopKind,
  scanJson,
  stringText,
} from '../../core/json/index.ts';
import { parseIsoTimestampBytes } from '../expr/time.ts';

export class JsonFieldReader {
  private readonly scanner: JsonFields;
  /** 1 for a slot whose ISO 8601 text is read as epoch milliseconds. */
  private readonly timestamp: Uint8Array;

  /**
   * `names[slot]` is the key whose value lands in `values[slot]`; a slot in `timestampSlots` gets ISO 8601
   * UTC text (`2026-03-02T08:00:00.000Z`) as epoch milliseconds instead of the text, other text as is.
   */
  constructor(names: readonly string[], timestampSlots: ReadonlySet<number> = new Set()) {
    this.scanner = new JsonFields(names);
    this.timestamp = new Uint8Array(names.length);
    for (const slot of timestampSlots) this.timestamp[slot] = 1;
  }

  /**
   * Puts the value of every wanted key of the JSON object in `bytes` into `values` (undefined when absent;
   * the last one when a key repeats, as JSON.parse). False when the caller must parse the text itself.
   */
  read(bytes: Buffer, values: unknown[]): boolean {
    const s = this.scanner;
    if (!s.isObject(s.scan(bytes))) return false;
    const kinds = s.kind;
    for (let slot = 0; slot < kinds.length; slot++) {
      switch (kinds[slot]) {
        case JSON_ABSENT:
          values[slot] = undefined;
          break;
        case JSON_STRING: {
          const t = this.timestamp[slot] === 1 && s.flags[slot] === 0 ? parseIsoTimestampBytes(bytes, s.start[slot]!, s.end[slot]!) : null;
          values[slot] = t ?? s.text(bytes, slot);
          break;
        }
        case JSON_NUMBER:
          values[slot] = s.number(bytes, slot);
          break;
        case JSON_TRUE:
          values[slot] = true;
          break;
        case JSON_FALSE:
          values[slot] = false;
          break;
        case JSON_NULL:
          values[slot] = null;
          break;
        default:
          return false; // an object or array: JSON.parse builds it
      }
    }
    return true;
  }
}

/** Collects the names of members whose values are numbers written with a fraction or an exponent. */
class DecimalNumberKeys implements MemberSink {
  readonly keyLengths = null;
  keys = new Set<string>();

  member(b: Uint8Array, keyStart: number, keyEnd: number, keyFlags: number, kind: number, valueStart: number, valueEnd: number): void {
    if (kind !== JSON_NUMBER) return;
    for (let k = valueStart; k < valueEnd; k++) {
      const d = b[k];
      if (d === 0x2e || d === 0x65 || d === 0x45) {
        this.keys.add(stringText(b, keyStart, keyEnd, keyFlags));
        return;
      }
    }
  }
}

/**
 * The keys of a JSON object whose values are numbers written with a fraction or an exponent (`1.0`, `2e3`):
 * `JSON.parse` gives `1.0` as the integer 1, but whoever wrote `1.0` meant a decimal, and a column inferred
 * from it must not divide like an integer. Null when the text is not one JSON object.
 */
export function decimalNumberKeys(bytes: Uint8Array): Set<string> | null {
  const sink = new DecimalNumberKeys();
  const outcome = scanJson(bytes, sink);
  return outcome === 'valid' && lastTopKind() === JSON_OBJECT ? sink.keys : null;
}
