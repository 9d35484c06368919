/** Time units, intervals and type names: the pieces of SQL that read as words after a value. */
import { FIXED_UNIT_MS, type IntervalExpr, type SqlTypeName, type TimeUnit, type TypeRef } from '../ast/index.ts';
import type { Cursor } from './cursor.ts';

/** An interval's length: the calendar units at 30, 90 and 365 days. */
const UNIT_MILLIS: Record<TimeUnit, number> = {
  ...FIXED_UNIT_MS,
  MONTH: 30 * FIXED_UNIT_MS.DAY,
  QUARTER: 90 * FIXED_UNIT_MS.DAY,
  YEAR: 365 * FIXED_UNIT_MS.DAY,
};

export function parseTimeUnit(c: Cursor): TimeUnit {
  const t = c.next();
  let u = t.upper;
  if (u.endsWith('S') && u !== 'MILLISECONDS' && `${u.slice(0, -1)}` in UNIT_MILLIS) u = u.slice(0, -1);
  if (u === 'MILLISECONDS') u = 'MILLISECOND';
  if (t.type !== 'word' || !(u in UNIT_MILLIS)) {
    throw c.errorAt(t.pos, `expected a time unit but found ${c.describe(t)}`, 'Units are MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR.');
  }
  if (c.isOp('(') && c.peek(1).type === 'number') {
    c.next();
    c.next();
    c.expectOp(')');
  }
  return u as TimeUnit;
}

/** `INTERVAL '10' MINUTE`, `INTERVAL '1:30' MINUTE TO SECOND`, `INTERVAL '2' HOURS`. */
export function parseInterval(c: Cursor): IntervalExpr {
  const pos = c.peek().pos;
  c.expectWord('INTERVAL', "Write a duration as INTERVAL '10' MINUTE.");
  const start = c.peek();
  let text: string;
  if (start.type === 'string' || start.type === 'number') text = c.next().text;
  else throw c.error(`expected a quoted amount after INTERVAL but found ${c.describe()}`, "Write INTERVAL '10' MINUTE.");
  const unit = parseTimeUnit(c);
  let millis: number;
  if (c.acceptWord('TO')) {
    const last = parseTimeUnit(c);
    const order: TimeUnit[] = ['DAY', 'HOUR', 'MINUTE', 'SECOND'];
    const from = order.indexOf(unit);
    const parts = text.trim().split(/[: ]/);
    if (from < 0 || order.indexOf(last) < from) throw c.errorAt(pos, `unsupported interval ${unit} TO ${last}`, 'Use DAY/HOUR/MINUTE TO a smaller unit.');
    // Every field, as in Flink and the SQL standard: the first any size, the others within their unit
    // ('1:75' MINUTE TO SECOND is refused, not read as 2:15), a fraction on seconds only.
    const units = order.slice(from, order.indexOf(last) + 1);
    const form = units.map((u, i) => (i === 0 ? u[0]!.toLowerCase() : u[0]!.toLowerCase().repeat(2))).join(':').replace(/^d:/, 'd ');
    const bad = (why: string) => c.errorAt(pos, `'${text}' is not an INTERVAL ${unit} TO ${last}: ${why}`, `Write its fields as '${form}', e.g. INTERVAL '1:30' MINUTE TO SECOND.`);
    if (parts.length !== units.length) throw bad(`it has ${parts.length} field${parts.length === 1 ? '' : 's'}, not ${units.length}`);
    const limits: Partial<Record<TimeUnit, number>> = { HOUR: 24, MINUTE: 60, SECOND: 60 };
    // A sign before the first field is the whole interval's: '-1 12' DAY TO HOUR is minus 36 hours.
    const sign = parts[0]!.startsWith('-') ? -1 : 1;
    parts[0] = parts[0]!.replace(/^[+-]/, '');
    millis = 0;
    parts.forEach((p, i) => {
      const u = units[i]!;
      if (!(u === 'SECOND' ? /^\d+(\.\d+)?$/ : /^\d+$/).test(p)) throw bad(`'${p}' is not a number of ${u.toLowerCase()}s`);
      if (i > 0 && Number(p) >= limits[u]!) throw bad(`${u.toLowerCase()} ${p} is not below ${limits[u]}`);
      millis += Number(p) * UNIT_MILLIS[u];
    });
    millis *= sign;
  } else {
    millis = Number(text.trim()) * UNIT_MILLIS[unit];
  }
  if (!Number.isFinite(millis)) throw c.errorAt(pos, `'${text}' is not a number of ${unit.toLowerCase()}s`, "Write INTERVAL '10' MINUTE.");
  return { kind: 'interval', millis, text: `INTERVAL '${text}' ${unit}`, pos };
}

const TYPE_NAMES: Record<string, SqlTypeName> = {
  BOOLEAN: 'BOOLEAN', BOOL: 'BOOLEAN',
  TINYINT: 'BIGINT', SMALLINT: 'BIGINT', INT: 'BIGINT', INTEGER: 'BIGINT', BIGINT: 'BIGINT',
  REAL: 'DOUBLE', FLOAT: 'DOUBLE', DOUBLE: 'DOUBLE', DECIMAL: 'DOUBLE', NUMERIC: 'DOUBLE', DEC: 'DOUBLE',
  VARCHAR: 'VARCHAR', CHAR: 'VARCHAR', STRING: 'VARCHAR', TEXT: 'VARCHAR', CHARACTER: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMP', TIMESTAMP_LTZ: 'TIMESTAMP', DATE: 'TIMESTAMP',
};

export function parseType(c: Cursor): TypeRef {
  const t = c.next();
  const name = TYPE_NAMES[t.upper];
  if (t.type !== 'word' || !name) {
    throw c.errorAt(t.pos, `unknown type ${c.describe(t)}`, 'Types are BOOLEAN, INT/BIGINT, DOUBLE/DECIMAL, VARCHAR, TIMESTAMP.');
  }
  let text = t.upper;
  if (t.upper === 'DOUBLE') c.acceptWord('PRECISION');
  if (c.acceptWord('VARYING')) text += ' VARYING';
  if (c.acceptOp('(')) {
    const args: string[] = [];
    do args.push(c.next().text);
    while (c.acceptOp(','));
    c.expectOp(')');
    text += `(${args.join(',')})`;
  }
  if (name === 'TIMESTAMP' && c.acceptWord('WITH')) {
    c.acceptWord('LOCAL');
    c.expectWord('TIME');
    c.expectWord('ZONE');
  }
  return { name, text };
}
