/** Text functions of Kinesis Analytics (and Flink) that need more than a line: INITCAP, OVERLAY, REGEX_REPLACE, TRIM; the regular-expression cache. */
import { RowError } from './types.ts';

const regexCache = new Map<string, RegExp>();
/** A regular expression compiled once per pattern; a pattern that does not compile makes the row an error. */
export function regex(pattern: string): RegExp {
  let r = regexCache.get(pattern);
  if (!r) {
    try {
      r = new RegExp(pattern);
    } catch (err) {
      throw new RowError('EVAL_ERROR', `invalid regular expression '${pattern}': ${(err as Error).message}`);
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, r);
  }
  return r;
}

/** The characters of `chars` cut from the start (LEADING), the end (TRAILING) or both ends of the text. */
export function trimChars(text: string, chars: string, mode: string): string {
  const set = new Set(chars);
  const cs = [...text];
  let b = 0;
  let e = cs.length;
  if (mode !== 'TRAILING') while (b < e && set.has(cs[b]!)) b++;
  if (mode !== 'LEADING') while (e > b && set.has(cs[e - 1]!)) e--;
  return cs.slice(b, e).join('');
}

/** Each space-delimited word with its first character upper-cased and the others lower-cased. */
export function initcap(text: string): string {
  return text.toLowerCase().replace(/(^|\s)(\S)/gu, (_m, space: string, first: string) => space + first.toUpperCase());
}

/**
 * `OVERLAY(s PLACING r FROM start [FOR length])`: `length` characters of `s` from `start` (1-based) replaced
 * by `r`; `length` defaults to r's length. A start before 1 puts the first (1 - start) characters of `r`
 * before `s` and overlays the rest; a start past the end appends `r` (Kinesis Analytics' reading).
 */
export function overlay(text: string, replacement: string, start: number, length?: number): string {
  const chars = [...text];
  const len = length ?? [...replacement].length;
  if (len < 0) throw new RowError('EVAL_ERROR', `OVERLAY: the length ${len} is negative`);
  const from = start - 1;
  return chars.slice(0, Math.max(0, from)).join('') + replacement + chars.slice(Math.max(0, from + len)).join('');
}

/**
 * `REGEX_REPLACE(s, regex, replacement, startPosition, occurrence)`: the matches of `regex` in `s` from
 * character `startPosition` on replaced, all of them when `occurrence` is 0, else only that one (1 the
 * first). `replacement` reads as Java's: `$n` is group n, a backslash takes the next character as it is.
 */
export function regexReplace(text: string, re: RegExp, replacement: string, startPosition: number, occurrence: number): string {
  if (startPosition < 1) throw new RowError('EVAL_ERROR', `REGEX_REPLACE: the start position ${startPosition} is before 1`);
  if (occurrence < 0) throw new RowError('EVAL_ERROR', `REGEX_REPLACE: the occurrence ${occurrence} is negative`);
  const chars = [...text];
  if (startPosition > chars.length) return text;
  const head = chars.slice(0, startPosition - 1).join('');
  const tail = chars.slice(startPosition - 1).join('');
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  let replaced = '';
  let at = 0;
  let seen = 0;
  for (const m of tail.matchAll(global)) {
    seen++;
    if (occurrence !== 0 && seen !== occurrence) continue;
    replaced += tail.slice(at, m.index) + javaReplacement(replacement, m);
    at = m.index + m[0].length;
    if (occurrence !== 0) break;
  }
  replaced += tail.slice(at);
  return head + replaced;
}

function javaReplacement(replacement: string, groups: readonly (string | undefined)[]): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const ch = replacement[i]!;
    if (ch === '\\' && i + 1 < replacement.length) out += replacement[++i];
    else if (ch === '$' && /\d/.test(replacement[i + 1] ?? '')) {
      const n = Number(replacement[++i]);
      if (n >= groups.length) throw new RowError('EVAL_ERROR', `REGEX_REPLACE: the replacement names group ${n}, which the expression does not have`);
      out += groups[n] ?? '';
    } else out += ch;
  }
  return out;
}
