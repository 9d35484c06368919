/**
 * AWS SDK v3 Kinesis clients pointed at local servers. Tollstream gets the SDK's default transport
 * (HTTP/2 cleartext, as a stock producer would use it); kinesalite speaks only HTTP/1.1, so it gets
 * `NodeHttpHandler`.
 */
import { KinesisClient, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
// Types only, from the SDK's own dependency.
import type { DeserializeMiddleware } from '@smithy/types';
import http from 'node:http';

// The SDK warns once per process that a future release will need Node.js 22; benchmark output is not the place.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalClientOptions {
  /** SDK attempts per call; 1 leaves retries to the caller. @default 1 */
  readonly maxAttempts?: number;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
}

/** A client with the SDK's default (HTTP/2) request handler. */
export function defaultTransportKinesisClient(endpoint: string, options: LocalClientOptions = {}): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 1,
    // An options object keeps the default handler class (NodeHttp2Handler) and sets its timeout.
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000 },
  });
}

/** A client over HTTP/1.1 with keep-alive and up to `maxSockets` connections. */
export function http1KinesisClient(endpoint: string, maxSockets: number, options: LocalClientOptions = {}): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      requestTimeout: options.requestTimeoutMs ?? 30_000,
    }),
  });
}

/** One request's time on the wire: from handing the signed request to the transport until response headers. */
export interface WireTiming {
  /** `performance.now()` when the response headers arrived. */
  readonly at: number;
  readonly ms: number;
}

/**
 * Records the wire time of each request of `client`, which leaves out the SDK's own work (serializing and
 * signing the request, parsing the response) so that a server's share of the latency can be told apart.
 */
export function recordWireTimings(client: KinesisClient, sink: (timing: WireTiming) => void): void {
  const timing: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    const start = performance.now();
    const result = await next(args);
    const now = performance.now();
    sink({ at: now, ms: now - start });
    return result;
  };
  // Right after the deserializer, so it wraps the transport alone.
  client.middlewareStack.addRelativeTo(timing, { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'benchWireTiming' });
}
