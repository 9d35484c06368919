/**
 * The one router of the HTTP routes: a table of `METHOD /v1/things/:name` patterns looked up in a tree of path
 * segments. A path is resolved first (a literal segment wins over a parameter, backing off to the parameter when the
 * literal leads nowhere), then its method, so every method of a path answers the same for an unserved one: 405 with
 * `Allow` computed from the table. HEAD is answered by the GET route unless that route says it cannot (a stream that
 * never ends). Segments are percent-decoded once, by the `pathParts` rules: a broken escape is 400
 * MALFORMED_REQUEST wherever it is, never an unknown route. One trailing `/` is ignored unless the table is
 * strict; an empty segment never fills a parameter. A last segment `:name*` takes the rest of the path, whatever it
 * holds (a file under a folder), when no other route of the table takes it.
 */
import { TollstreamError } from '../core/errors.ts';
import { pathParts } from './validate.ts';

/**
 * A route: `pattern` is `METHOD /path`, where a segment `:name` is a parameter, `:name(regex)` one that must
 * match the regular expression whole (`:id(\d{1,15})`), and a last segment `:name*` one or more segments, the rest
 * of the path (decoded, joined by `/`); `noHead` keeps HEAD off a GET route.
 */
export interface RouteSpec<T> {
  readonly pattern: string;
  readonly route: T;
  /** HEAD is not answered by this GET route (an endless stream would hold the connection with nothing to send). @default false */
  readonly noHead?: boolean;
}

export interface RouteMatch<T> {
  readonly route: T;
  /** The path's parameters by name, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
}

export interface Router<T> {
  /** The route `method` takes on `path` (no query string); undefined when none. Throws MALFORMED_REQUEST for a broken escape. */
  find(method: string, path: string): RouteMatch<T> | undefined;
  /**
   * As `find`, but a path served for other methods throws METHOD_NOT_ALLOWED (its context's `allow` becomes the
   * `Allow` header) and a path not served throws NOT_FOUND, whose message ends with `where` (where the routes are listed).
   */
  route(method: string, path: string, where: string): RouteMatch<T>;
  /** The methods `path` answers, HEAD after GET where offered; empty when it is no route. */
  allowed(path: string): readonly string[];
  /** Every route as `{ method, path }`, parameters as `{name}` (for API descriptions). */
  list(): ReadonlyArray<{ readonly method: string; readonly path: string; readonly route: T }>;
}

interface Handler<T> {
  readonly route: T;
  readonly noHead: boolean;
}

interface Node<T> {
  readonly literals: Map<string, Node<T>>;
  param: { readonly name: string; readonly test: RegExp | undefined; readonly node: Node<T> } | undefined;
  /** The `:name*` parameter here: the rest of the path. */
  rest: { readonly name: string; readonly node: Node<T> } | undefined;
  readonly methods: Map<string, Handler<T>>;
  /** The names of the parameters on the way to this node, in path order. */
  names: readonly string[];
  allow: readonly string[];
}

const newNode = <T>(): Node<T> => ({ literals: new Map(), param: undefined, rest: undefined, methods: new Map(), names: [], allow: [] });
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)(?:\((.+)\))?$/;
const REST = /^:([A-Za-z_][A-Za-z0-9_]*)\*$/;

export interface RouterOptions {
  /** `ignore`: `/v1/things/` is `/v1/things`; `strict`: a trailing `/` is a segment of its own (empty, so no route). @default 'ignore' */
  readonly trailingSlash?: 'ignore' | 'strict';
  /**
   * `false` leaves the segments as sent, for a module that decodes its paths by rules of its own (the static files,
   * which refuse more than a broken escape): a literal then matches only as written, and no path is MALFORMED_REQUEST.
   * @default true
   */
  readonly decode?: boolean;
}

export function createRouter<T>(routes: ReadonlyArray<RouteSpec<T>>, options: RouterOptions = {}): Router<T> {
  const strict = options.trailingSlash === 'strict';
  const decode = options.decode ?? true;
  const root = newNode<T>();
  const listed: Array<{ method: string; path: string; route: T }> = [];
  const tableMethods = new Set<string>();
  for (const spec of routes) {
    const space = spec.pattern.indexOf(' ');
    const method = spec.pattern.slice(0, space);
    const path = spec.pattern.slice(space + 1);
    if (space < 1 || !path.startsWith('/') || method === 'HEAD') throw new TollstreamError('INTERNAL', `route pattern '${spec.pattern}' is not 'METHOD /path' (HEAD comes from GET)`);
    let node = root;
    const names: string[] = [];
    const segments = segmentsOf(path, false, true);
    for (const [i, segment] of segments.entries()) {
      const rest = REST.exec(segment);
      if (rest) {
        if (i !== segments.length - 1) throw new TollstreamError('INTERNAL', `route pattern '${spec.pattern}': :${rest[1]}* must be the last segment`);
        if (node.rest && node.rest.name !== rest[1]) throw new TollstreamError('INTERNAL', `route pattern '${spec.pattern}': :${rest[1]}* conflicts with :${node.rest.name}* at the same place`);
        node.rest ??= { name: rest[1]!, node: newNode() };
        names.push(rest[1]!);
        node = node.rest.node;
        continue;
      }
      const p = PARAM.exec(segment);
      if (!p) {
        let next = node.literals.get(segment);
        if (!next) node.literals.set(segment, (next = newNode()));
        node = next;
        continue;
      }
      const [, name, source] = p as unknown as [string, string, string | undefined];
      if (node.param && (node.param.name !== name || node.param.test?.source !== (source === undefined ? undefined : `^(?:${source})$`))) {
        throw new TollstreamError('INTERNAL', `route pattern '${spec.pattern}': parameter :${name} conflicts with :${node.param.name} at the same place`);
      }
      node.param ??= { name, test: source === undefined ? undefined : new RegExp(`^(?:${source})$`), node: newNode() };
      names.push(name);
      node = node.param.node;
    }
    if (node.methods.has(method)) throw new TollstreamError('INTERNAL', `route '${spec.pattern}' is declared twice`);
    node.methods.set(method, { route: spec.route, noHead: spec.noHead ?? false });
    tableMethods.add(method);
    node.names = names;
    node.allow = [...node.methods].flatMap(([m, h]) => (m === 'GET' && !h.noHead ? ['GET', 'HEAD'] : [m]));
    listed.push({ method, path: path.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\(.+?\)|\*)?(?=\/|$)/g, '{$1}'), route: spec.route });
  }

  const rootLiterals = [...root.literals.keys()];

  /** The node `path` resolves to and the parameter values on the way; undefined when it is no route. */
  function resolve(path: string): { node: Node<T>; values: string[] } | undefined {
    // The gateway asks every mounted module about every request: a path outside the table is refused before it is split.
    if (!root.param && !root.rest && !mayStartHere(path)) return undefined;
    const segments = segmentsOf(path, strict, decode);
    const values: string[] = [];
    const node = walk(root, segments, 0, values);
    return node ? { node, values } : undefined;
  }

  /**
   * Whether `path` can lead anywhere: its first segment a literal of the root, or an escape still to decode anywhere
   * in it (a broken escape is 400 MALFORMED_REQUEST wherever it is, also on a path no route takes).
   */
  function mayStartHere(path: string): boolean {
    const end = path.indexOf('/', 1);
    const length = (end < 0 ? path.length : end) - 1;
    // Without a copy of the segment: compared in place with each of the root's few literals.
    for (const literal of rootLiterals) if (literal.length === length && path.startsWith(literal, 1)) return true;
    return decode && path.indexOf('%', 1) >= 0;
  }

  function walk(node: Node<T>, segments: readonly string[], i: number, values: string[]): Node<T> | undefined {
    if (i === segments.length) return node.methods.size > 0 ? node : undefined;
    const value = segments[i]!;
    const literal = node.literals.get(value);
    if (literal) {
      const found = walk(literal, segments, i + 1, values);
      if (found) return found;
    }
    const param = node.param;
    if (param && value !== '' && (!param.test || param.test.test(value))) {
      values.push(value);
      const found = walk(param.node, segments, i + 1, values);
      if (found) return found;
      values.pop();
    }
    const rest = node.rest;
    if (!rest || rest.node.methods.size === 0) return undefined;
    values.push(segments.slice(i).join('/'));
    return rest.node;
  }

  function find(method: string, path: string): RouteMatch<T> | undefined {
    // A method no route takes needs no path: the ingest request passes every mounted module's table this way.
    if (!tableMethods.has(method === 'HEAD' ? 'GET' : method)) return undefined;
    const at = resolve(path);
    if (!at) return undefined;
    let handler = at.node.methods.get(method);
    if (!handler && method === 'HEAD') {
      const get = at.node.methods.get('GET');
      if (get && !get.noHead) handler = get;
    }
    if (!handler) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < at.values.length; i++) params[at.node.names[i]!] = at.values[i]!;
    return { route: handler.route, params };
  }

  return {
    find,
    route(method, path, where) {
      const found = find(method, path);
      if (found) return found;
      const allow = resolve(path)?.node.allow ?? [];
      if (allow.length > 0) throw methodNotAllowedError(method, path, allow);
      throw new TollstreamError('NOT_FOUND', `no route ${method} ${path}; ${where}`, { context: { method, path } });
    },
    allowed: (path) => resolve(path)?.node.allow ?? [],
    list: () => listed,
  };
}

/**
 * The segments of `path` after its leading `/`, without one trailing `/` unless `strict`, each percent-decoded by the `pathParts`
 * rules (an encoded `/` stays inside its segment) when `decode`. A path without `%` has nothing to decode and is only split.
 */
function segmentsOf(path: string, strict: boolean, decode: boolean): string[] {
  const trimmed = !strict && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return decode && trimmed.includes('%') ? pathParts(trimmed, '/') : trimmed.slice(1).split('/');
}

/** 405 naming the methods `path` does answer; the error response carries them in `Allow`. */
export function methodNotAllowedError(method: string, path: string, allow: readonly string[]): TollstreamError {
  return new TollstreamError('METHOD_NOT_ALLOWED', `${path} does not answer ${method}; it answers ${allow.join(', ')}`, {
    context: { method, path, allow: [...allow] },
  });
}
