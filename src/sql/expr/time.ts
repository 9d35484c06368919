/** Reading timestamps from text. */

/**
 * Timestamps in input and literals: ISO 8601 with or without `T`, with an offset or `Z`; without one the
 * text is UTC. Returns epoch milliseconds, or null when the text is not a timestamp.
 */
export function parseTimestampText(text: string): number | null {
  // Fast path for the common full form 2026-03-02T08:00:00.000Z / 2026-03-02T08:00:00Z.
  const n = text.length;
  if ((n === 24 || n === 20) && text.charCodeAt(10) === 84 && text.charCodeAt(n - 1) === 90 && text.charCodeAt(4) === 45) {
    const t = parseIsoTimestampText(text) ?? Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  if (!m) return null;
  const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  let t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms);
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return Number.isFinite(t) ? t : null;
}

let cachedDayKey = -1;
let cachedDayStart = 0;

/**
 * Epoch ms of the fields of `YYYY-MM-DDTHH:MM:SS(.sss)Z` (each -1 when not digits), or null when one is out
 * of range. Years 1000 to 9999 only (Date.UTC reads years 0 to 99 as 1900 to 1999). Day 31 of a 30-day
 * month rolls into the next month, as Date.parse does. The start of the day is cached: times arrive in order.
 */
function isoInstant(century: number, yy: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number | null {
  if (century < 10 || yy < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return null;
  const dayKey = ((century * 100 + yy) * 100 + month) * 100 + day;
  if (dayKey !== cachedDayKey) {
    cachedDayStart = Date.UTC(century * 100 + yy, month - 1, day);
    cachedDayKey = dayKey;
  }
  return cachedDayStart + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}

function digitPair(hi: number, lo: number): number {
  const h = hi - 48;
  const l = lo - 48;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

/**
 * `parseTimestampText` for the form every producer of this platform writes, read from UTF-8 bytes
 * `[start, end)` without making a string: `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`. Returns null
 * for any other text; the caller then parses the text itself, so results never differ from
 * `parseTimestampText`.
 */
export function parseIsoTimestampBytes(b: Uint8Array, start: number, end: number): number | null {
  const n = end - start;
  if (n !== 24 && n !== 20) return null;
  if (b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84 || b[start + 13] !== 58 || b[start + 16] !== 58 || b[end - 1] !== 90) return null;
  let ms = 0;
  if (n === 24) {
    if (b[start + 19] !== 46) return null;
    const u = b[start + 22]! - 48;
    ms = u >= 0 && u <= 9 ? digitPair(b[start + 20]!, b[start + 21]!) * 10 + u : -1;
  }
  const s = start;
  return isoInstant(
    digitPair(b[s]!, b[s + 1]!), digitPair(b[s + 2]!, b[s + 3]!), digitPair(b[s + 5]!, b[s + 6]!), digitPair(b[s + 8]!, b[s + 9]!),
    digitPair(b[s + 11]!, b[s + 12]!), digitPair(b[s + 14]!, b[s + 15]!), digitPair(b[s + 17]!, b[s + 18]!), ms,
  );
}

/**
 * The same form as `parseIsoTimestampBytes`, from text: the fast path of `parseTimestampText`. (No helper
 * closures in these two: a closure made per call costs more than the parsing.)
 */
function parseIsoTimestampText(text: string): number | null {
  const n = text.length;
  if (text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  let ms = 0;
  if (n === 24) {
    if (text.charCodeAt(19) !== 46) return null;
    const u = text.charCodeAt(22) - 48;
    ms = u >= 0 && u <= 9 ? digitPair(text.charCodeAt(20), text.charCodeAt(21)) * 10 + u : -1;
  }
  const t = text;
  return isoInstant(
    digitPair(t.charCodeAt(0), t.charCodeAt(1)), digitPair(t.charCodeAt(2), t.charCodeAt(3)), digitPair(t.charCodeAt(5), t.charCodeAt(6)),
    digitPair(t.charCodeAt(8), t.charCodeAt(9)), digitPair(t.charCodeAt(11), t.charCodeAt(12)), digitPair(t.charCodeAt(14), t.charCodeAt(15)),
    digitPair(t.charCodeAt(17), t.charCodeAt(18)), ms,
  );
}
