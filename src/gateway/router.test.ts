import { describe, expect, it } from 'vitest';
import { createRouter } from './router.ts';

const router = createRouter([
  { pattern: 'GET /v1/things', route: 'list' },
  { pattern: 'POST /v1/things', route: 'create' },
  { pattern: 'GET /v1/things/:name', route: 'describe' },
  { pattern: 'DELETE /v1/things/:name', route: 'delete' },
  { pattern: 'GET /v1/things/:name/watch', route: 'watch', noHead: true },
  { pattern: 'GET /v1/things/special', route: 'special' },
  { pattern: 'POST /v1/things/:name/parts/:part', route: 'part' },
  { pattern: 'DELETE /v1/hooks/:id(\\d{1,15})', route: 'unhook' },
]);

/** A TollstreamError with these fields. */
const error = (fields: { code: string; message?: unknown; context?: unknown }) => expect.objectContaining({ ...fields, name: 'TollstreamError' });

describe('router', () => {
  it('finds a route by method and path, with its parameters decoded', () => {
    expect(router.find('GET', '/v1/things')).toEqual({ route: 'list', params: {} });
    expect(router.find('POST', '/v1/things')).toEqual({ route: 'create', params: {} });
    expect(router.find('GET', '/v1/things/a%20b')).toEqual({ route: 'describe', params: { name: 'a b' } });
    expect(router.find('POST', '/v1/things/x/parts/a%2Fb')).toEqual({ route: 'part', params: { name: 'x', part: 'a/b' } });
  });

  it('prefers a literal segment, and falls back to the parameter where the literal leads nowhere', () => {
    expect(router.find('GET', '/v1/things/special')?.route).toBe('special');
    expect(router.find('DELETE', '/v1/things/special')).toBeUndefined();
    expect(router.find('GET', '/v1/things/special/watch')).toEqual({ route: 'watch', params: { name: 'special' } });
  });

  it('decodes a literal segment too, as the path rules say', () => {
    expect(router.find('GET', '/v1/th%69ngs')?.route).toBe('list');
  });

  it('ignores one trailing slash, and never fills a parameter with an empty segment', () => {
    expect(router.find('GET', '/v1/things/')?.route).toBe('list');
    expect(router.find('GET', '/v1/things/x/')).toEqual({ route: 'describe', params: { name: 'x' } });
    expect(router.find('GET', '/v1/things//watch')).toBeUndefined();
    expect(router.allowed('/v1/things//watch')).toEqual([]);
  });

  it('keeps a trailing slash as a segment of its own in a strict table', () => {
    const strict = createRouter([{ pattern: 'GET /v1/me', route: 'me' }], { trailingSlash: 'strict' });
    expect(strict.find('GET', '/v1/me')?.route).toBe('me');
    expect(strict.find('GET', '/v1/me/')).toBeUndefined();
    expect(strict.allowed('/v1/me/')).toEqual([]);
  });

  it('answers HEAD with the GET route, except where the GET route refuses it', () => {
    expect(router.find('HEAD', '/v1/things/x')?.route).toBe('describe');
    expect(router.find('HEAD', '/v1/things/x/watch')).toBeUndefined();
    expect(router.allowed('/v1/things/x/watch')).toEqual(['GET']);
  });

  it('computes the methods a path answers from the table, HEAD after GET', () => {
    expect(router.allowed('/v1/things')).toEqual(['GET', 'HEAD', 'POST']);
    expect(router.allowed('/v1/things/x')).toEqual(['GET', 'HEAD', 'DELETE']);
    expect(router.allowed('/v1/things/special')).toEqual(['GET', 'HEAD']);
    expect(router.allowed('/v1/nothing')).toEqual([]);
  });

  it('throws 405 with the allowed methods for a path served for others', () => {
    expect(() => router.route('PUT', '/v1/things/x', 'see the docs')).toThrow(
      error({ code: 'METHOD_NOT_ALLOWED', context: { method: 'PUT', path: '/v1/things/x', allow: ['GET', 'HEAD', 'DELETE'] } }),
    );
  });

  it('throws 404 naming where the routes are listed for a path nobody serves', () => {
    for (const path of ['/v1/nothing', '/v1/things/x/y/z', '/', '/v1']) {
      expect(() => router.route('GET', path, 'see docs/things.md'), path).toThrow(error({ code: 'NOT_FOUND', message: expect.stringContaining('see docs/things.md') }));
    }
  });

  it('checks a parameter against its pattern: a path that does not fit it is no route', () => {
    expect(router.find('DELETE', '/v1/hooks/42')).toEqual({ route: 'unhook', params: { id: '42' } });
    expect(router.find('DELETE', '/v1/hooks/abc')).toBeUndefined();
    expect(() => router.route('DELETE', '/v1/hooks/abc', 'x')).toThrow(error({ code: 'NOT_FOUND' }));
  });

  it('answers a broken percent-escape 400 MALFORMED_REQUEST, on served and unserved paths alike', () => {
    for (const path of ['/v1/things/%E0%A4%A', '/v1/nothing/%zz', '/v1/things/%']) {
      expect(() => router.find('GET', path), path).toThrow(error({ code: 'MALFORMED_REQUEST' }));
      expect(() => router.allowed(path), path).toThrow(error({ code: 'MALFORMED_REQUEST' }));
    }
  });

  it('lists its routes with parameters in braces', () => {
    expect(router.list()).toContainEqual({ method: 'POST', path: '/v1/things/{name}/parts/{part}', route: 'part' });
    expect(router.list()).toContainEqual({ method: 'DELETE', path: '/v1/hooks/{id}', route: 'unhook' });
  });

  it('refuses a table that declares a route twice or two parameter names at one place', () => {
    expect(() => createRouter([{ pattern: 'GET /a', route: 1 }, { pattern: 'GET /a', route: 2 }])).toThrow(/declared twice/);
    expect(() => createRouter([{ pattern: 'GET /a/:x', route: 1 }, { pattern: 'PUT /a/:y', route: 2 }])).toThrow(/conflicts/);
    expect(() => createRouter([{ pattern: 'HEAD /a', route: 1 }])).toThrow(/HEAD comes from GET/);
  });

  it('gives the rest of the path to a last :name* segment, after every other route of the table had its chance', () => {
    const files = createRouter([
      { pattern: 'GET /pages', route: 'index' },
      { pattern: 'GET /pages/:file*', route: 'file' },
      { pattern: 'GET /pages/about', route: 'about' },
    ]);
    expect(files.find('GET', '/pages/a%20b/c.js')).toEqual({ route: 'file', params: { file: 'a b/c.js' } });
    expect(files.find('GET', '/pages/x')).toEqual({ route: 'file', params: { file: 'x' } });
    expect(files.find('GET', '/pages/about')?.route).toBe('about');
    expect(files.find('GET', '/pages/')?.route).toBe('index');
    expect(files.find('HEAD', '/pages/a/b')?.route).toBe('file');
    expect(files.allowed('/pages/a/b')).toEqual(['GET', 'HEAD']);
    expect(() => files.route('POST', '/pages/a/b', 'see the docs')).toThrow(error({ code: 'METHOD_NOT_ALLOWED', context: expect.objectContaining({ allow: ['GET', 'HEAD'] }) }));
    expect(files.find('GET', '/pages//x')).toEqual({ route: 'file', params: { file: '/x' } });
    expect(files.find('GET', '/elsewhere/a')).toBeUndefined();
    expect(files.list()).toContainEqual({ method: 'GET', path: '/pages/{file}', route: 'file' });
    expect(() => createRouter([{ pattern: 'GET /a/:rest*/b', route: 1 }])).toThrow(/must be the last segment/);
  });

  it('leaves the segments as sent in a table that does not decode: no escape is broken, a literal matches only as written', () => {
    const raw = createRouter([{ pattern: 'GET /pages/:file*', route: 'file' }], { decode: false });
    expect(raw.find('GET', '/pages/%zz/a%20b')).toEqual({ route: 'file', params: { file: '%zz/a%20b' } });
    expect(raw.find('GET', '/p%61ges/x')).toBeUndefined();
    expect(() => router.find('GET', '/v1/things/%zz')).toThrow(error({ code: 'MALFORMED_REQUEST' }));
  });
});
