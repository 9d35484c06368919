/**
 * JSON over HTTP for both pages: a Bearer token when there is one, and errors in the native shape
 * (`{ error: { code, message, context } }`) turned into `ApiError`. A fetch that never reached the server
 * (offline, server down) is an `ApiError` with status 0 and code `NETWORK`.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>> | undefined;

  constructor(status: number, code: string, message: string, context?: Readonly<Record<string, unknown>>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.context = context;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export interface RequestOptions {
  readonly method?: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly token?: string | undefined;
  readonly signal?: AbortSignal;
  /** `fetch` to use; @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export async function requestJson<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const res = await send(url, options);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `the server answered ${res.status} with something that is not JSON`);
  }
}

export async function requestText(url: string, options: RequestOptions = {}): Promise<string> {
  return (await send(url, options)).text();
}

/** The response of a successful (2xx) request; anything else throws an ApiError. */
export async function send(url: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.ok) return res;
  throw await errorOf(res);
}

export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; context?: unknown } };
    const e = body.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      return new ApiError(res.status, e.code, e.message, (e.context ?? undefined) as Record<string, unknown> | undefined);
    }
  } catch {
    // not the native error shape; described below
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status} ${res.statusText}`.trim());
}
