/**
 * Flink's PRINTF: the format string read as Java's `java.util.Formatter` reads it with `Locale.US`, for the
 * conversions a SQL value can meet (`%s %S %d %x %X %o %f %e %E %g %G %b %B %c %% %n`), with argument indexes
 * (`%2$s`, `%<s`), the flags `- # + space 0 , (`, width and precision. A NULL argument prints `null`. A format
 * Java would refuse (an unknown conversion, a missing argument, `%d` of a DOUBLE) makes the result NULL, as
 * Flink's does; which arguments are integers comes from their types at plan time (a DOUBLE 2.0 is not `%d`).
 */
import type { SqlTypeName } from '../ast/index.ts';
import type { Value } from './types.ts';

const SPEC = /%(?:(\d+)\$|(<))?([-#+ 0,(]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g;

class BadFormat extends Error {}

/** The text, or null when Java's Formatter would throw. */
export function printf(format: string, args: readonly Value[], types: readonly SqlTypeName[]): string | null {
  try {
    return formatJava(format, args, types);
  } catch (err) {
    if (err instanceof BadFormat) return null;
    throw err;
  }
}

function formatJava(format: string, args: readonly Value[], types: readonly SqlTypeName[]): string {
  let out = '';
  let at = 0;
  let next = 0;
  let last = -1;
  for (const m of format.matchAll(SPEC)) {
    const literal = format.slice(at, m.index);
    if (literal.includes('%')) throw new BadFormat();
    out += literal;
    at = m.index + m[0].length;
    const [, position, previous, flags = '', widthText, precisionText, conversion = ''] = m;
    if (conversion === '%' || conversion === 'n') {
      if (precisionText !== undefined || position !== undefined || previous !== undefined) throw new BadFormat();
      out += pad(conversion === '%' ? '%' : '\n', flags, widthText);
      continue;
    }
    const index = previous !== undefined ? last : position !== undefined ? Number(position) - 1 : next++;
    if (index < 0 || index >= args.length) throw new BadFormat();
    last = index;
    const text = convert(conversion, args[index]!, types[index] ?? 'ANY', flags, precisionText === undefined ? undefined : Number(precisionText));
    // Java writes a NULL as the text null, padded with spaces even under the 0 flag.
    out += pad(text, args[index] === null ? flags.replace('0', '') : flags, widthText);
  }
  const rest = format.slice(at);
  if (rest.includes('%')) throw new BadFormat();
  return out + rest;
}

function pad(text: string, flags: string, widthText: string | undefined): string {
  if ((flags.includes('-') || flags.includes('0')) && widthText === undefined) throw new BadFormat();
  const width = widthText === undefined ? 0 : Number(widthText);
  if (text.length >= width) return text;
  if (flags.includes('-')) return text.padEnd(width);
  if (!flags.includes('0')) return text.padStart(width);
  const sign = /^[-+ (]/.test(text) ? text[0]! : '';
  return sign + text.slice(sign.length).padStart(width - sign.length, '0');
}

/** Whether a value may be written with %d (%x, %o, %c) or %f (%e, %g): by its type, or for ANY by the value. */
const isInteger = (v: number, t: SqlTypeName) => t === 'BIGINT' || (t === 'ANY' && Number.isInteger(v));
const isDouble = (t: SqlTypeName) => t === 'DOUBLE' || t === 'ANY';

function convert(conversion: string, v: Value, type: SqlTypeName, flags: string, precision: number | undefined): string {
  const upper = conversion === conversion.toUpperCase() && conversion !== conversion.toLowerCase();
  const c = conversion.toLowerCase();
  let text: string;
  switch (c) {
    case 's':
      if (flags.replace('-', '') !== '') throw new BadFormat();
      text = v === null ? 'null' : typeof v === 'number' && type === 'DOUBLE' ? javaDouble(v) : String(v);
      if (precision !== undefined) text = [...text].slice(0, precision).join('');
      break;
    case 'b':
      text = v === null ? 'false' : typeof v === 'boolean' ? String(v) : 'true';
      if (precision !== undefined) text = text.slice(0, precision);
      break;
    case 'c':
      if (v === null) text = 'null';
      else if (typeof v === 'number' && isInteger(v, type)) text = String.fromCodePoint(v);
      else throw new BadFormat();
      break;
    case 'd':
    case 'x':
    case 'o':
      if (v === null) text = 'null';
      else if (typeof v === 'number' && isInteger(v, type) && precision === undefined) text = integer(v, c, flags);
      else throw new BadFormat();
      break;
    case 'f':
    case 'e':
    case 'g':
      if (v === null) text = 'null';
      else if (typeof v === 'number' && isDouble(type)) text = decimal(v, c, flags, precision ?? 6);
      else throw new BadFormat();
      break;
    default:
      throw new BadFormat();
  }
  return upper ? text.toUpperCase() : text;
}

/** A double as Java's Double.toString writes it (1.0, 1.5E10). */
function javaDouble(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return `${v}.0`;
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e7) return String(v);
  const [mantissa, exponent] = v.toExponential().split('e');
  return `${mantissa!.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

function signed(digits: string, negative: boolean, flags: string): string {
  if (negative) return flags.includes('(') ? `(${digits})` : `-${digits}`;
  return flags.includes('+') ? `+${digits}` : flags.includes(' ') ? ` ${digits}` : digits;
}

function grouped(digits: string): string {
  const [whole, fraction] = digits.split('.');
  const withCommas = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? withCommas : `${withCommas}.${fraction}`;
}

function integer(v: number, c: string, flags: string): string {
  if (c === 'd') {
    const digits = String(Math.abs(v));
    return signed(flags.includes(',') ? grouped(digits) : digits, v < 0, flags);
  }
  // Java writes a negative long in hex and octal as its 64-bit two's complement.
  const bits = BigInt.asUintN(64, BigInt(v));
  const digits = bits.toString(c === 'x' ? 16 : 8);
  return flags.includes('#') ? (c === 'x' ? `0x${digits}` : `0${digits}`) : digits;
}

function decimal(v: number, c: string, flags: string, precision: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : signed('Infinity', v < 0, flags);
  const a = Math.abs(v);
  let digits: string;
  if (c === 'f') digits = fixedHalfUp(a, precision);
  else if (c === 'e') digits = exponentHalfUp(a, precision);
  else {
    // %g: scientific below 10^-4 or from 10^precision on (after rounding), else fixed with `precision` significant digits.
    const p = precision === 0 ? 1 : precision;
    const exponent = a === 0 ? 0 : Number(exponentHalfUp(a, p - 1).split('e')[1]);
    digits = a !== 0 && (exponent < -4 || exponent >= p) ? exponentHalfUp(a, p - 1) : fixedHalfUp(a, Math.max(0, p - 1 - exponent));
  }
  if (flags.includes(',') && c !== 'e') digits = grouped(digits);
  return signed(digits, v < 0 || Object.is(v, -0), flags);
}

/** The shortest decimal digits of x (>= 0) and the power of ten of the first: 2365.625 is ['2365625', 3]. */
function shortestDigits(x: number): [string, number] {
  const [mantissa, exponent] = x.toExponential().split('e');
  return [mantissa!.replace('.', ''), Number(exponent)];
}

/** Digits rounded half up at `keep` of them (Java's Formatter rounds the shortest decimal text, not the binary value). */
function roundDigits(digits: string, keep: number): bigint {
  const kept = BigInt(digits.slice(0, Math.max(0, keep)).padEnd(Math.max(0, keep), '0') || '0');
  return keep >= 0 && keep < digits.length && digits[keep]! >= '5' ? kept + 1n : kept;
}

function fixedHalfUp(x: number, fraction: number): string {
  const [digits, exponent] = x === 0 ? ['0', 0] : shortestDigits(x);
  const text = roundDigits(digits, exponent + 1 + fraction).toString().padStart(fraction + 1, '0');
  return fraction === 0 ? text : `${text.slice(0, -fraction)}.${text.slice(-fraction)}`;
}

function exponentHalfUp(x: number, precision: number): string {
  let [digits, exponent] = x === 0 ? ['0', 0] : shortestDigits(x);
  let text = roundDigits(digits, precision + 1).toString().padStart(precision + 1, '0');
  if (text.length > precision + 1) {
    text = text.slice(0, precision + 1);
    exponent++;
  }
  digits = precision === 0 ? text : `${text[0]}.${text.slice(1)}`;
  return javaExponent(`${digits}e${exponent}`);
}

/** 1.5e+10 as Java writes it: 1.5e+10 (at least two exponent digits). */
function javaExponent(text: string): string {
  const [mantissa, exponent] = text.split('e');
  const n = Number(exponent);
  return `${mantissa}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}
