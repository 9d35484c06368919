/** Reading timestamps from text. */

/**
 * Timestamps in input and literals: ISO 8601 with or without `T`, with an offset or `Z`; without one the
 * text is UTC. Returns epoch milliseconds, or null when the text is not a timestamp.
 */
export function parseTimestampText(text: string): number | null {
  // Fast path for the common full form 2026-03-02T08:00:00.000Z / 2026-03-02T08:00:00Z.
  const n = text.length;
  if ((n === 24 || n === 20) && text.charCodeAt(10) === 84 && text.charCodeAt(n - 1) === 90 && text.charCodeAt(4) === 45) {
    const t = Date.parse(text);
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
