/**
 * Java SimpleDateFormat patterns, the part Kinesis Analytics' CHAR_TO_TIMESTAMP and TIMESTAMP_TO_CHAR use:
 * `yyyy` (or `yy`), `MM`, `dd`, `HH` (0-23), `hh` (1-12), `a` (AM/PM), `mm`, `ss`, `SSS`, text in single
 * quotes (`''` is a quote), and any other non-letter as it is. Other letters (day names, zones, weeks) are
 * refused rather than printed or skipped, so a pattern never silently means something else. Times are UTC.
 */
import { isCalendarDate } from '../../core/iso-time.ts';
import { RowError } from './types.ts';

type Field = 'y' | 'M' | 'd' | 'H' | 'h' | 'a' | 'm' | 's' | 'S';
type Piece = { readonly field: Field; readonly width: number } | string;

const FIELDS = new Set<string>(['y', 'M', 'd', 'H', 'h', 'a', 'm', 's', 'S']);
const patterns = new Map<string, readonly Piece[]>();

/** The pattern as fields and literal text; throws `RowError` on a letter it does not know. */
export function datePattern(pattern: string): readonly Piece[] {
  let pieces = patterns.get(pattern);
  if (pieces) return pieces;
  const out: Piece[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i]!;
    if (ch === "'") {
      if (pattern[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      // Quoted text, where '' is a quote.
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new RowError('EVAL_ERROR', `date pattern '${pattern}': a quote is not closed`);
        if (pattern[j] === "'" && pattern[j + 1] === "'") {
          literal += "'";
          j += 2;
        } else if (pattern[j] === "'") break;
        else literal += pattern[j++];
      }
      i = j + 1;
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      if (!FIELDS.has(ch)) throw new RowError('EVAL_ERROR', `date pattern '${pattern}': the letter '${ch}' is not supported (use yyyy MM dd HH hh a mm ss SSS)`);
      let j = i;
      while (pattern[j] === ch) j++;
      if (literal) out.push(literal);
      literal = '';
      out.push({ field: ch as Field, width: j - i });
      i = j;
      continue;
    }
    literal += ch;
    i++;
  }
  if (literal) out.push(literal);
  if (patterns.size > 100) patterns.clear();
  pieces = out;
  patterns.set(pattern, pieces);
  return pieces;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** TIMESTAMP_TO_CHAR: the timestamp (epoch ms, UTC) written with the pattern. */
export function formatWithPattern(ts: number, pattern: string): string {
  const d = new Date(ts);
  let out = '';
  for (const p of datePattern(pattern)) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const h = d.getUTCHours();
    switch (p.field) {
      case 'y':
        out += p.width === 2 ? pad(d.getUTCFullYear() % 100, 2) : pad(d.getUTCFullYear(), p.width);
        break;
      case 'M':
        out += pad(d.getUTCMonth() + 1, p.width);
        break;
      case 'd':
        out += pad(d.getUTCDate(), p.width);
        break;
      case 'H':
        out += pad(h, p.width);
        break;
      case 'h':
        out += pad(h % 12 === 0 ? 12 : h % 12, p.width);
        break;
      case 'a':
        out += h < 12 ? 'AM' : 'PM';
        break;
      case 'm':
        out += pad(d.getUTCMinutes(), p.width);
        break;
      case 's':
        out += pad(d.getUTCSeconds(), p.width);
        break;
      case 'S':
        out += pad(d.getUTCMilliseconds(), p.width);
        break;
    }
  }
  return out;
}

/**
 * CHAR_TO_TIMESTAMP: reads the text with the pattern, from its start (text after the pattern is ignored,
 * as SimpleDateFormat does). Fields the pattern leaves out are 1 for month and day, 0 for the others.
 * Throws `RowError` when the text does not fit the pattern or a field is out of its range.
 */
export function parseWithPattern(text: string, pattern: string): number {
  const v = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 };
  let twelveHour: number | null = null;
  let pm: boolean | null = null;
  let i = 0;
  const fail = (why: string): never => {
    throw new RowError('EVAL_ERROR', `'${text}' does not fit the date pattern '${pattern}': ${why}`);
  };
  for (const p of datePattern(pattern)) {
    if (typeof p === 'string') {
      if (!text.startsWith(p, i)) fail(`expected '${p}' at character ${i + 1}`);
      i += p.length;
      continue;
    }
    if (p.field === 'a') {
      const marker = text.slice(i, i + 2).toUpperCase();
      if (marker !== 'AM' && marker !== 'PM') fail(`expected AM or PM at character ${i + 1}`);
      pm = marker === 'PM';
      i += 2;
      continue;
    }
    // At most as many digits as the field has letters (two at least, four for a year).
    const start = i;
    const max = p.field === 'y' && p.width !== 2 ? 4 : Math.max(p.width, 2);
    while (i < text.length && i - start < max && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === start) fail(`expected a number at character ${start + 1}`);
    const n = Number(text.slice(start, i));
    switch (p.field) {
      case 'y':
        v.y = p.width === 2 && i - start <= 2 ? 2000 + n : n;
        break;
      case 'h':
        twelveHour = n;
        break;
      default:
        v[p.field] = n;
    }
  }
  if (twelveHour !== null && twelveHour > 12) fail(`hour ${twelveHour} is not 1 to 12 (hh)`);
  if (twelveHour !== null) v.H = (twelveHour % 12) + (pm ? 12 : 0);
  else if (pm !== null && pm && v.H < 12) v.H += 12;
  if (v.M < 1 || v.M > 12) fail(`month ${v.M} is not 1 to 12`);
  if (!isCalendarDate(v.y, v.M, v.d)) fail(`day ${v.d} is not in month ${v.M} of ${v.y}`);
  if (v.H > 23) fail(`hour ${v.H} is not 0 to 23`);
  if (v.m > 59) fail(`minute ${v.m} is not 0 to 59`);
  if (v.s > 59) fail(`second ${v.s} is not 0 to 59`);
  if (v.S > 999) fail(`millisecond ${v.S} is not 0 to 999`);
  // setUTCFullYear, unlike Date.UTC, reads years 0 to 99 as themselves, not as 1900 to 1999.
  const d = new Date(0);
  d.setUTCFullYear(v.y, v.M - 1, v.d);
  return d.getTime() + ((v.H * 60 + v.m) * 60 + v.s) * 1000 + v.S;
}
