/**
 * Finds a few named members of a JSON object in its bytes while validating the whole text, without building
 * the object: ingest needs a record's key fields, the log its dedupe key, a live query 3 to 6 columns of
 * records that carry 10 or more. What a member holds is left as a byte range and a kind; `text` and `number`
 * decode it exactly as `JSON.parse` then a property lookup would.
 */
import {
  JSON_ABSENT,
  JSON_OBJECT,
  type MemberSink,
  STRING_ESCAPED,
  type ScanOutcome,
  lastTopKind,
  numberValue,
  scanJson,
  stringText,
} from './scan.ts';

export class JsonFields implements MemberSink {
  readonly names: readonly string[];
  /** Per wanted name after a scan: the JSON_* kind of its value, JSON_ABSENT when missing (the last one when repeated). */
  readonly kind: Uint8Array;
  /** The value's bytes: a string's contents between its quotes, any other value whole. */
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** A string value's STRING_* bits. */
  readonly flags: Uint8Array;
  /** Each wanted name's UTF-8 bytes. */
  private readonly nameBytes: Uint8Array[];
  /** The first wanted name of each UTF-8 length, and the next one of the same length after each (-1: none). */
  private readonly firstOfLength: Int32Array;
  private readonly nextOfLength: Int32Array;
  /** 1 at the UTF-8 length of each wanted name: the scan offers this sink only the members that may match. */
  readonly keyLengths: Uint8Array;
  /** The kind of the top-level value after a valid scan: a record's members are read only when JSON_OBJECT. */
  topKind = JSON_ABSENT;

  constructor(names: readonly string[]) {
    this.names = names;
    this.kind = new Uint8Array(names.length);
    this.start = new Int32Array(names.length);
    this.end = new Int32Array(names.length);
    this.flags = new Uint8Array(names.length);
    this.nameBytes = names.map((name) => new Uint8Array(Buffer.from(name, 'utf8')));
    const longest = Math.max(0, ...this.nameBytes.map((bytes) => bytes.length));
    this.keyLengths = new Uint8Array(longest + 1);
    this.firstOfLength = new Int32Array(longest + 1).fill(-1);
    this.nextOfLength = new Int32Array(names.length).fill(-1);
    for (let i = names.length - 1; i >= 0; i--) {
      const length = this.nameBytes[i]!.length;
      this.keyLengths[length] = 1;
      this.nextOfLength[i] = this.firstOfLength[length]!;
      this.firstOfLength[length] = i;
    }
  }

  /**
   * Validates the JSON text `b` (a line of a larger buffer: a subarray) and finds the wanted members of its
   * top-level object. `too-deep`: nesting the scanner does not follow; the caller parses the text itself.
   */
  scan(b: Uint8Array): ScanOutcome {
    const kind = this.kind;
    for (let i = 0; i < kind.length; i++) kind[i] = JSON_ABSENT;
    const outcome = scanJson(b, this.names.length > 0 ? this : null);
    this.topKind = lastTopKind();
    return outcome;
  }

  /** True after a valid scan of an object. */
  isObject(outcome: ScanOutcome): boolean {
    return outcome === 'valid' && this.topKind === JSON_OBJECT;
  }

  /** The text of wanted member `i`, a string. */
  text(b: Uint8Array, i: number): string {
    return stringText(b, this.start[i]!, this.end[i]!, this.flags[i]!);
  }

  /** The value of wanted member `i`, a number. */
  number(b: Uint8Array, i: number): number {
    return numberValue(b, this.start[i]!, this.end[i]!);
  }

  /** True when wanted member `i` is a string with escapes (its bytes are not its text). */
  isEscaped(i: number): boolean {
    return (this.flags[i]! & STRING_ESCAPED) !== 0;
  }

  member(b: Uint8Array, keyStart: number, keyEnd: number, keyFlags: number, kind: number, valueStart: number, valueEnd: number, valueFlags: number): void {
    if (keyFlags === 0) {
      // Plain ASCII of a wanted length (`keyLengths`): the bytes are the name.
      const length = keyEnd - keyStart;
      next: for (let i = this.firstOfLength[length]!; i >= 0; i = this.nextOfLength[i]!) {
        const name = this.nameBytes[i]!;
        for (let k = 0; k < length; k++) if (b[keyStart + k] !== name[k]) continue next;
        this.set(i, kind, valueStart, valueEnd, valueFlags);
      }
      return;
    }
    // Escapes or non-ASCII bytes: compare the decoded name, as JSON.parse would see it.
    const key = stringText(b, keyStart, keyEnd, keyFlags);
    for (let i = 0; i < this.names.length; i++) if (this.names[i] === key) this.set(i, kind, valueStart, valueEnd, valueFlags);
  }

  private set(i: number, kind: number, start: number, end: number, flags: number): void {
    this.kind[i] = kind;
    this.start[i] = start;
    this.end[i] = end;
    this.flags[i] = flags;
  }
}
