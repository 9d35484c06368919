import { describe, expect, it } from 'vitest';
import type { DecoderColumn } from './source-decoder.ts';
import { DecodeError, SourceDecoder } from './source-decoder.ts';

const COLUMNS: DecoderColumn[] = [
  { name: 'customer_id', type: 'VARCHAR' },
  { name: 'Amount_Cents', type: 'BIGINT' },
  { name: 'event_time', type: 'TIMESTAMP' },
  { name: 'rate', type: 'DOUBLE' },
  { name: 'paid', type: 'BOOLEAN' },
];

type Outcome = { row: unknown[] } | { error: string };

/** What a live source made of the bytes before: JSON.parse of the text, then `decode`. */
function viaParse(decoder: SourceDecoder, text: string): Outcome {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return { error: 'not an object' };
  try {
    return { row: decoder.decode(record as Record<string, unknown>, 1000) };
  } catch (err) {
    if (err instanceof DecodeError) return { error: err.message };
    throw err;
  }
}

/** What it makes of them now: the field reader, or the same parse when the reader declines. */
function viaBytes(decoder: SourceDecoder, text: string): Outcome & { read: boolean } {
  try {
    const row = decoder.decodeJson(Buffer.from(text, 'utf8'), 1000);
    if (row) return { row, read: true };
  } catch (err) {
    if (err instanceof DecodeError) return { error: err.message, read: true };
    throw err;
  }
  return { ...viaParse(decoder, text), read: false };
}

function compare(columns: DecoderColumn[], texts: readonly string[]): number {
  const a = new SourceDecoder(columns, 2, () => 0);
  const b = new SourceDecoder(columns, 2, () => 0);
  let read = 0;
  for (const text of texts) {
    const { read: wasRead, ...got } = viaBytes(b, text);
    expect(got, text).toEqual(viaParse(a, text));
    if (wasRead) read++;
  }
  return read;
}

const TOLL = '{"transaction_id":"tx-2r-00000001","customer_id":"C0000029","tag_id":"TAG000000290","plate":"RAM-4439","plaza_id":"P04","lane":3,"vehicle_class":2,"amount_cents":150,"currency":"USD","event_time":"2026-03-02T08:00:00.001Z"}';

describe('reading fields straight from JSON bytes', () => {
  it('gives the same rows and errors as parsing the whole record, for odd but valid records', () => {
    const texts = [
      TOLL,
      ' \n\t{ "customer_id" : "C1" , "amount_cents" : -0 , "event_time" : "2026-02-30T23:59:59Z" } \r\n',
      '{}',
      '{"customer_id":null,"amount_cents":null,"event_time":null,"rate":null,"paid":null}',
      '{"customer_id":"a\\"b\\\\c\\u00e9\\n","AMOUNT_CENTS":"42","event_time":1772438400000}',
      '{"customer_id":"Zoë 北京 😀","amount_cents":1e3,"event_time":"2026-03-02T08:00:00+01:00","rate":1.5e-3,"paid":"true"}',
      '{"customer_id":"first","customer_id":"second","amount_cents":1,"amount_cents":2}',
      '{"customer_id":{"nested":[1,2,{"x":null}]},"amount_cents":[1]}',
      '{"other":{"a":[1,{"b":"c\\u0041"}],"d":[]},"x":[true,false,null,-1.5E+2],"customer_id":7,"amount_cents":12345678901234567}',
      '{"customer_id":true,"amount_cents":1.5,"event_time":"2026-03-02 08:00:00"}',
      '{"amount_cents":9007199254740993}',
      '{"customer_id":1234567890123456789,"rate":98765432109876543210,"amount_cents":-999999999999999}',
      '{"rate":-9007199254740993123,"customer_id":-0.0}',
      '{"amount_cents":"12x"}',
      '{"event_time":"2026-13-02T08:00:00.000Z"}',
      '{"event_time":"2026-03-02T24:00:00.000Z"}',
      '{"event_time":"0099-03-02T08:00:00.000Z"}',
      '{"event_time":"2026-03-02T08:00:00.0001Z"}',
      '{"event_time":"not a time"}',
      '{"rate":"abc"}',
      '{"paid":1}',
      '{"k\\u0065y":1,"customer_id":"x"}',
      '{"é":1,"customer_id":"x"}',
      '{"customer_id":"a long customer identifier of more than twenty-four characters"}',
    ];
    expect(compare(COLUMNS, texts)).toBeGreaterThan(10);
  });

  it('treats invalid JSON and non-objects exactly as JSON.parse does', () => {
    const texts = [
      '',
      ' ',
      '\uFEFF{"customer_id":"x"}',
      '[1,2]',
      '"text"',
      '42',
      'null',
      '{"customer_id":"x",}',
      '{"customer_id":"x"} x',
      '{"customer_id":"x"}}',
      "{'customer_id':'x'}",
      '{"customer_id":"x\ty"}',
      '{"customer_id":"\\x"}',
      '{"customer_id":"\\u12g4"}',
      '{"customer_id":01}',
      '{"customer_id":1.}',
      '{"customer_id":.5}',
      '{"customer_id":-}',
      '{"customer_id":1e}',
      '{"customer_id":+1}',
      '{"customer_id":tru}',
      '{"customer_id":NaN}',
      '{"customer_id"}',
      '{"customer_id":"x"',
      '{"a":[1,2,]}',
      '{"a":{"b":1,}}',
      '{"a":[1 2]}',
      '{customer_id:"x"}',
    ];
    compare(COLUMNS, texts);
  });

  it('agrees with JSON.parse on thousands of mangled records', () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '{}[]":,\\ -.0123456789eEtrufalsn\u00e9x\u0001';
    const texts: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let t = TOLL.replace('"lane":3', '"lane":[3,{"a":"b"}]');
      const edits = 1 + random(3);
      for (let e = 0; e < edits; e++) {
        const at = random(t.length);
        const kind = random(3);
        const ch = alphabet[random(alphabet.length)]!;
        if (kind === 0) t = t.slice(0, at) + t.slice(at + 1);
        else if (kind === 1) t = t.slice(0, at) + ch + t.slice(at);
        else t = t.slice(0, at) + ch + t.slice(at + 1);
      }
      texts.push(t);
    }
    compare(COLUMNS, texts);
  });

  it('reads ISO 8601 UTC times as Date.parse does, from year 1000 to 9999, days 29 to 31 of every month included', () => {
    const texts: string[] = [];
    for (let y = 1000; y <= 9999; y += 277) {
      for (let m = 1; m <= 12; m++) {
        for (const d of [1, 28, 29, 30, 31]) {
          const day = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          texts.push(`{"event_time":"${day}T23:59:59.999Z"}`, `{"event_time":"${day}T00:00:00Z"}`, `{"event_time":"${day}T12:34:56.078Z"}`);
        }
      }
    }
    expect(compare(COLUMNS, texts)).toBe(texts.length);
  });

  it('refuses a value beyond a declared INTEGER, SMALLINT or TINYINT on both paths, at the edges of each width', () => {
    const columns: DecoderColumn[] = [
      { name: 'i', type: 'BIGINT', bits: 32 },
      { name: 's', type: 'BIGINT', bits: 16 },
      { name: 't', type: 'BIGINT', bits: 8 },
      { name: 'b', type: 'BIGINT' },
    ];
    const texts = ['{"i":2147483647,"s":32767,"t":127,"b":9007199254740991}', '{"i":-2147483648,"s":-32768,"t":-128}', '{"i":2147483648}', '{"i":"-2147483649"}', '{"s":32768}', '{"t":-129}'];
    compare(columns, texts);
    const decoder = new SourceDecoder(columns, -1, () => 0);
    const outcomes = texts.map((text) => viaBytes(decoder, text));
    expect(outcomes.slice(0, 2).map((o) => 'row' in o)).toEqual([true, true]);
    expect(outcomes.slice(2).map((o) => ('error' in o ? o.error : 'no error'))).toEqual([
      'field "i" is 2147483648, beyond its 32-bit integer type (-2147483648 to 2147483647); declare it BIGINT',
      'field "i" is "-2147483649", beyond its 32-bit integer type (-2147483648 to 2147483647); declare it BIGINT',
      'field "s" is 32768, beyond its 16-bit integer type (-32768 to 32767); declare it BIGINT',
      'field "t" is -129, beyond its 8-bit integer type (-128 to 127); declare it BIGINT',
    ]);
  });

  it('leaves columns named like Object.prototype properties to the full parse, which finds those properties', () => {
    compare([{ name: 'constructor', type: 'VARCHAR' }, { name: 'x', type: 'BIGINT' }], ['{"x":1}', '{"constructor":"c","x":2}']);
  });
});
