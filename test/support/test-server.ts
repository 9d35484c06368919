/**
 * Starts a gateway on 127.0.0.1 (random port) over the embedded stream log in a fresh temp dir, with SDK clients
 * pointed at it. `close()` (or `await using`) stops clients, gateway and log and removes the dir.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { createAuthenticator, createGateway, type Authenticator, type Gateway, type GatewayOptions } from '../../src/gateway/index.ts';
import { openEmbeddedLog, type StreamLog } from '../../src/log/index.ts';

export interface TestServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly log: StreamLog;
  readonly gateway: Gateway;
  /** A Kinesis client with its default transport (HTTP/2 without TLS, prior knowledge). */
  kinesis(): KinesisClient;
  /** A Firehose client with its default transport (HTTP/1.1). */
  firehose(): FirehoseClient;
  close(): Promise<void>;
}

export interface TestServerOptions extends Partial<Omit<GatewayOptions, 'log' | 'authenticator' | 'logger'>> {
  readonly authenticator?: Authenticator;
  readonly logger?: Logger;
  /** Wraps the log the gateway sees, e.g. to inject failures. */
  readonly wrapLog?: (log: StreamLog) => StreamLog;
  /** Opens the log instead of an embedded one in the temp dir (another backend); it is closed with the server. */
  readonly openLog?: () => Promise<StreamLog>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-gw-'));
  const { wrapLog, openLog, ...gatewayOptions } = options;
  const log = openLog ? await openLog() : await openTestLog(dir);
  const gateway = createGateway({
    ...gatewayOptions,
    log: wrapLog ? wrapLog(log) : log,
    authenticator: options.authenticator ?? createAuthenticator({ accessKeys: [], apiKeys: [] }),
    logger: options.logger ?? silentLogger,
    ready: true,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const clients: Array<{ destroy(): void }> = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      for (const c of clients) c.destroy();
      await gateway.close();
      await log.close();
      await fs.rm(dir, { recursive: true, force: true });
    })());
  return {
    url,
    port,
    dir,
    log,
    gateway,
    kinesis() {
      const client = new KinesisClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    firehose() {
      const client = new FirehoseClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function openTestLog(dir: string): Promise<StreamLog> {
  return openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
}

/** A stream name no other test uses. */
export function uniqueName(prefix = 'stream'): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}
