/**
 * A lean client for Tollstream's native HTTP API (HTTP/1.1 keep-alive), used by load generators where the
 * cost of the client itself must stay small next to the server's.
 */
import http from 'node:http';

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

export function createAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

export function request(
  agent: http.Agent,
  url: string,
  method: string,
  body?: Buffer | string,
  contentType = 'application/json',
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        agent,
        method,
        headers: body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates a stream through `POST /v1/streams`; an existing stream of that name is an error. */
export async function createStream(
  agent: http.Agent,
  baseUrl: string,
  spec: { name: string; shardCount: number; dedupe?: { mode: 'field'; field: string } | { mode: 'key' } },
): Promise<void> {
  const result = await request(agent, `${baseUrl}/v1/streams`, 'POST', JSON.stringify(spec));
  if (result.status !== 201 && result.status !== 200) {
    throw new Error(`creating stream '${spec.name}' failed with HTTP ${result.status}: ${result.body}`);
  }
}

/** `failedRecordCount` of a native append response, read without parsing the per-record results. */
export function failedRecordCount(responseBody: string): number {
  const match = /"failedRecordCount"\s*:\s*(\d+)/.exec(responseBody);
  if (!match) throw new Error(`append response without failedRecordCount: ${responseBody.slice(0, 300)}`);
  return Number(match[1]);
}
