/**
 * The AWS front: picks the operation from `X-Amz-Target`, decodes the body in the request's wire format
 * (JSON or CBOR), runs the operation and encodes its result in the same format. Errors are left to the
 * caller, which answers them in the AWS shape.
 */
import { TollstreamError } from '../../core/errors.ts';
import { StreamedReply, type AwsContext, type Operation } from './context.ts';
import { CONSUMER_OPERATIONS } from './kinesis-consumers.ts';
import { FIREHOSE_CONTROL_OPERATIONS } from './firehose-control.ts';
import { FIREHOSE_OPERATIONS } from './firehose.ts';
import { RECORD_OPERATIONS } from './kinesis-records.ts';
import { STREAM_OPERATIONS } from './kinesis-streams.ts';
import { TAG_OPERATIONS } from './kinesis-tags.ts';
import type { WireFormat } from './wire.ts';

const KINESIS_PREFIX = 'Kinesis_20131202.';
const FIREHOSE_PREFIX = 'Firehose_20150804.';
const ALL_FIREHOSE_OPERATIONS: Readonly<Record<string, Operation>> = { ...FIREHOSE_OPERATIONS, ...FIREHOSE_CONTROL_OPERATIONS };
const KINESIS_OPERATIONS: Readonly<Record<string, Operation>> = { ...STREAM_OPERATIONS, ...RECORD_OPERATIONS, ...TAG_OPERATIONS, ...CONSUMER_OPERATIONS };

export interface AwsTarget {
  readonly api: 'kinesis' | 'firehose';
  /** The operation name, or `unknown` for metrics when it is not one we serve. */
  readonly operation: string;
  readonly run: Operation | undefined;
}

export function resolveTarget(target: string): AwsTarget {
  if (target.startsWith(KINESIS_PREFIX)) return lookup('kinesis', KINESIS_OPERATIONS, target.slice(KINESIS_PREFIX.length));
  if (target.startsWith(FIREHOSE_PREFIX)) return lookup('firehose', ALL_FIREHOSE_OPERATIONS, target.slice(FIREHOSE_PREFIX.length));
  return { api: 'kinesis', operation: 'unknown', run: undefined };
}

function lookup(api: AwsTarget['api'], table: Readonly<Record<string, Operation>>, name: string): AwsTarget {
  const run = Object.hasOwn(table, name) ? table[name] : undefined;
  return { api, operation: run ? name : 'unknown', run };
}

export function unknownOperation(target: string): TollstreamError {
  return new TollstreamError('UNKNOWN_OPERATION', `the operation '${target}' is not supported; see docs/gateway.md for the supported Kinesis and Firehose operations`, {
    context: { target },
  });
}

export async function runOperation(ctx: AwsContext, run: Operation, body: Buffer, format: WireFormat): Promise<Buffer | string | StreamedReply> {
  const result = await run(ctx, format.decode(body));
  return result instanceof StreamedReply ? result : format.encode(result);
}
