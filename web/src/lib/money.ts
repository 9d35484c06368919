/**
 * Money in the UI: amounts travel as integer cents and are shown (and typed) in dollars. No floating-point
 * arithmetic touches an amount: cents are split into whole units and cents with integer operations.
 */

const SYMBOLS: Readonly<Record<string, string>> = { USD: '$', CAD: 'CA$', EUR: '€', GBP: '£' };

/** `123456` -> `$1,234.56`; negative amounts get a leading minus; another currency shows its code. */
export function formatCents(cents: number, currency = 'USD'): string {
  if (!Number.isSafeInteger(cents)) return '—';
  const negative = cents < 0;
  const abs = Math.abs(cents);
  const rest = abs % 100;
  const whole = (abs - rest) / 100;
  const symbol = SYMBOLS[currency] ?? `${currency} `;
  return `${negative ? '-' : ''}${symbol}${groupThousands(whole)}.${String(rest).padStart(2, '0')}`;
}

/** `1234567` -> `1,234,567`. */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export type ParsedDollars = { readonly ok: true; readonly cents: number } | { readonly ok: false; readonly reason: string };

/** The largest amount the form accepts: $10 billion keeps every total far from the safe-integer limit. */
export const MAX_DOLLARS = 10_000_000_000;

/**
 * What a person types into a dollars field -> integer cents. Accepts `50`, `49.9`, `49.99`, `$1,250.00`
 * (a leading `$`, thousands commas, surrounding spaces); refuses empty input, negatives, more than two
 * decimals and anything else, with a reason meant for the person.
 */
export function parseDollars(input: string): ParsedDollars {
  let text = input.trim();
  if (text === '') return { ok: false, reason: 'Enter an amount in dollars, for example 50 or 49.99.' };
  if (text.startsWith('-')) return { ok: false, reason: 'The amount must be 0 or more.' };
  if (text.startsWith('$')) text = text.slice(1).trim();
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(text)) text = text.replace(/,/g, '');
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return { ok: false, reason: 'Use digits only, for example 50 or 49.99.' };
  const fraction = m[2] ?? '';
  if (fraction.length > 2) return { ok: false, reason: 'Use at most two decimal places (whole cents).' };
  const wholeText = (m[1] ?? '').replace(/^0+(?=\d)/, '');
  if (wholeText.length > String(MAX_DOLLARS).length || Number(wholeText) > MAX_DOLLARS) {
    return { ok: false, reason: `The amount must be at most ${formatCents(MAX_DOLLARS * 100)}.` };
  }
  const cents = Number(wholeText === '' ? '0' : wholeText) * 100 + Number(fraction.padEnd(2, '0'));
  if (cents > MAX_DOLLARS * 100) return { ok: false, reason: `The amount must be at most ${formatCents(MAX_DOLLARS * 100)}.` };
  return { ok: true, cents };
}

/** Integer cents -> the text a dollars field starts with (`5000` -> `50.00`). */
export function centsToInput(cents: number): string {
  const rest = cents % 100;
  return `${(cents - rest) / 100}.${String(rest).padStart(2, '0')}`;
}
