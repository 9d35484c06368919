import { describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { intParam, jsonBody, jsonObject, onlyFields, onlyParams, pathParts, stringField } from './validate.ts';

/** The error `check` throws, for asserting its code, message and context together. */
function refusal(check: () => unknown): { code: string; message: string; context: unknown } {
  try {
    check();
  } catch (err) {
    if (!(err instanceof TollstreamError)) throw err;
    return { code: err.code, message: err.message, context: err.context };
  }
  throw new Error('the check passed');
}

describe('the request-validation kit', () => {
  it('refuses query parameters outside the allowed ones, and one given twice, naming the parameter', () => {
    expect(onlyParams(new URLSearchParams('limit=5&cursor=x'), ['limit', 'cursor']).get('limit')).toBe('5');
    expect(refusal(() => onlyParams(new URLSearchParams('customer_id=B'), []))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: "unknown query parameter 'customer_id'; allowed: none",
      context: { parameter: 'customer_id' },
    });
    expect(refusal(() => onlyParams(new URLSearchParams('limit=5&limit=6'), ['limit']))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining("'limit' is given more than once"),
      context: { parameter: 'limit' },
    });
  });

  it('says a missing required string field is required, and a wrong type that it must be a string', () => {
    expect(refusal(() => stringField({}, 'customer_id', { required: true }))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'customer_id is required',
      context: { field: 'customer_id' },
    });
    expect(refusal(() => stringField({ customer_id: 17 }, 'customer_id', { required: true }))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'customer_id must be a string',
      context: { field: 'customer_id', value: 17 },
    });
    expect(stringField({}, 'name')).toBeUndefined();
  });

  it('reads a JSON body, refusing one that is empty, not JSON, or not UTF-8 instead of replacing the bytes', () => {
    expect(jsonObject(Buffer.from('{"name":"é"}'))).toEqual({ name: 'é' });
    expect(jsonBody(Buffer.from('[1]'))).toEqual([1]);
    expect(refusal(() => jsonObject(Buffer.alloc(0)))).toMatchObject({ code: 'MALFORMED_REQUEST', message: 'the request body is empty; send a JSON object' });
    expect(refusal(() => jsonObject(Buffer.from('{"name": ')))).toMatchObject({ code: 'MALFORMED_REQUEST', message: expect.stringContaining('not valid UTF-8 JSON') });
    // {"name":"\xff"}: valid JSON once the stray byte is replaced, so only a strict decoder refuses it.
    expect(refusal(() => jsonObject(Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])))).toMatchObject({ code: 'MALFORMED_REQUEST' });
    expect(refusal(() => jsonObject(Buffer.from('[1]'), 'a JSON object { name }'))).toMatchObject({ code: 'MALFORMED_REQUEST', message: 'the body must be a JSON object { name }' });
  });

  it('names the allowed fields, or none, when a body holds an unknown one', () => {
    expect(refusal(() => onlyFields({ ids: [1], customer_id: 'B' }, ['ids'])).message).toBe("unknown field 'customer_id'; allowed: ids");
    expect(refusal(() => onlyFields({ x: 1 }, [])).message).toBe("unknown field 'x'; allowed: none");
  });

  it('splits a path into decoded segments, an encoded slash kept inside its segment, and refuses a broken escape naming the path', () => {
    expect(pathParts('/v1/customers/C%2F1%25/tokens', '/v1/')).toEqual(['customers', 'C/1%', 'tokens']);
    expect(refusal(() => pathParts('/v1/customers/%E0%A4%A'))).toEqual({
      code: 'MALFORMED_REQUEST',
      message: 'the path /v1/customers/%E0%A4%A is not valid percent-encoding',
      context: { path: '/v1/customers/%E0%A4%A' },
    });
  });

  it('takes an integer parameter within its range, its default when absent, and refuses the rest', () => {
    expect(intParam(new URLSearchParams('limit=500'), 'limit', 1, 500, 50)).toBe(500);
    expect(intParam(new URLSearchParams(''), 'limit', 1, 500, 50)).toBe(50);
    for (const text of ['0', '501', 'ten', '-1', '1.5', '1e2', '99999999999999999999']) {
      expect(refusal(() => intParam(new URLSearchParams({ limit: text }), 'limit', 1, 500, 50)), text).toMatchObject({ code: 'INVALID_ARGUMENT', context: { parameter: 'limit' } });
    }
  });
});
