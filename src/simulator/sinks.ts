/**
 * Where simulated traffic goes: the Kinesis API through the AWS SDK (as ABC Tolls' roadside producers would
 * send it), the native NDJSON endpoint, or an NDJSON file. Each sink takes batches and resolves once the batch
 * is acknowledged, so callers can count what was really accepted.
 */
import fs from 'node:fs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { TollTransaction } from './toll-transactions.ts';

export interface SinkResult {
  readonly accepted: number;
  readonly failed: number;
}

export interface Sink {
  /** Sends one batch; resolves when the receiver acknowledged it. */
  send(batch: readonly TollTransaction[]): Promise<SinkResult>;
  close(): Promise<void>;
}

export interface KinesisSinkOptions {
  readonly endpoint: string;
  readonly stream: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
}

/** PutRecords through the AWS SDK v3 with its default transport; records that fail are retried up to 3 times. */
export function kinesisSink(options: KinesisSinkOptions): Sink {
  // The SDK warns on Node 20 about its releases of 2027; the version this package pins supports Node 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new KinesisClient({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: options.accessKeyId ?? 'local', secretAccessKey: options.secretAccessKey ?? 'local' },
  });
  const encoder = new TextEncoder();
  return {
    async send(batch) {
      let pending = batch.map((tx) => ({ Data: encoder.encode(JSON.stringify(tx)), PartitionKey: tx.customer_id }));
      let accepted = 0;
      for (let attempt = 0; attempt < 4 && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        const out = await client.send(new PutRecordsCommand({ StreamName: options.stream, Records: pending }));
        const results = out.Records ?? [];
        const retry: typeof pending = [];
        results.forEach((r, i) => (r.ErrorCode ? retry.push(pending[i]!) : accepted++));
        pending = retry;
      }
      return { accepted, failed: pending.length };
    },
    async close() {
      client.destroy();
    },
  };
}

export interface NativeSinkOptions {
  readonly endpoint: string;
  readonly stream: string;
  readonly apiKey?: string;
}

/** POSTs NDJSON to the native records endpoint, partitioned by customer and deduplicated by transaction id. */
export function nativeSink(options: NativeSinkOptions): Sink {
  const url = `${options.endpoint.replace(/\/$/, '')}/v1/streams/${encodeURIComponent(options.stream)}/records?partitionKeyField=customer_id`;
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return {
    async send(batch) {
      let body = '';
      for (const tx of batch) body += JSON.stringify(tx) + '\n';
      const res = await fetch(url, { method: 'POST', headers, body });
      const text = await res.text();
      if (!res.ok) throw new Error(`native ingest answered ${res.status}: ${text.slice(0, 500)}`);
      const out = JSON.parse(text) as { failedRecordCount: number };
      return { accepted: batch.length - out.failedRecordCount, failed: out.failedRecordCount };
    },
    async close() {},
  };
}

/** Appends NDJSON lines to a file (or stdout when `path` is '-'). */
export function fileSink(path: string): Sink {
  const out = path === '-' ? process.stdout : fs.createWriteStream(path);
  return {
    async send(batch) {
      let text = '';
      for (const tx of batch) text += JSON.stringify(tx) + '\n';
      if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
      return { accepted: batch.length, failed: 0 };
    },
    async close() {
      if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
    },
  };
}
