/**
 * The dead letters of every notification store in the server (webhook, push and email deliveries given up
 * after their last attempt), for operators to browse and send again (operator key):
 *
 *   GET  /v1/dead-letters?limit=100                   -> { deadLetters: [{ store, id, topic, channel, url, attempts, lastError, failedAt, message }] }
 *   POST /v1/dead-letters/{store}/{id}/redrive        -> { redriven: { store, id } }: queued again with a fresh attempt budget
 *
 * and the batches function mappings gave up on (function-dead-letters.ts), which the same list returns as
 * `functionDeadLetters: [{ mapping, stream, shardId, startSequenceNumber, endSequenceNumber, batchSize,
 * condition, attempts, givenUpAt, onFailure }]`, each sent to its handler again, once:
 *
 *   POST /v1/dead-letters/mappings/{mapping}/{shardId}/{startSequenceNumber}-{endSequenceNumber}/redrive
 *        -> { redriven: { mapping, shardId, startSequenceNumber, endSequenceNumber, records } }
 *
 * and the records delivery into the warehouse could not load (`_delivery_errors`, delivery-dead-letters.ts), which the
 * list returns as `deliveryErrors: [{ stream, table, shardId, sequenceNumber, errorType, errorCode, errorMessage,
 * arrivalTime, failedAt, data, dataBase64 }]`, each loaded into its table again, once:
 *
 *   POST /v1/dead-letters/deliveries/{stream}/{table}/{shardId}/{sequenceNumber}/redrive
 *        -> { redriven: { stream, table, shardId, sequenceNumber, loaded, dropped } }
 *   POST /v1/dead-letters/deliveries/redrive  { records: [{ stream, table, shardId, sequenceNumber }] }
 *        -> { results: [{ key, loaded, dropped, failedAgain } | { key, error: { code, message } }] }
 *
 * On a cluster a function's batch is sent again only by the node holding its shard's lease; another node answers 409
 * `LEASE_NOT_HELD` with the holder in `context.owner`.
 */
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { intParam, operatorRoutes, sendJson, type Response, type RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Warehouse } from '../warehouse/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';
import { listedDeliveryError, redriveOne, redriveSelection, requireWarehouse } from './delivery-dead-letters.ts';
import { listFunctionDeadLetters } from './function-dead-letters.ts';
import { leaseKey } from './work-leases.ts';


export function createDeadLetterRoutes(options: {
  readonly consumers: ConsumerMetrics;
  /** Where the functions' on-failure destinations are read. */
  readonly log: StreamLog;
  /** Where the failed delivery records are kept; none with `warehouse.enabled: false`. */
  readonly warehouse?: Warehouse;
  /** Throws UNAUTHORIZED; the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  /** The node holding a work lease (by key) as far as this node knows, null while nobody does. */
  readonly leaseOwner?: (key: string) => string | null | undefined;
  readonly logger: Logger;
}): RouteModule {
  const list = async (res: Response, query: URLSearchParams) => {
    const limit = intParam(query, 'limit', 1, 1000, 100);
    const stores = await Promise.all(options.consumers.notifyStores().map(async ({ name, notify }) => ({ name, deadLetters: await notify.listDeadLetters({ limit }) })));
    const deadLetters = stores.flatMap(({ name, deadLetters }) =>
      deadLetters.map((d) => ({
        store: name,
        id: d.id,
        topic: d.topic,
        channel: d.channel,
        url: d.url,
        attempts: d.attempts,
        lastError: d.lastError,
        failedAt: new Date(d.createdAt).toISOString(),
        message: d.message,
      })),
    );
    deadLetters.sort((a, b) => (a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0));
    const batches = await listFunctionDeadLetters(options.log, options.consumers.functionRuntimes());
    const functionDeadLetters = batches.slice(0, limit).map(({ runtime: _runtime, ...batch }) => batch);
    const deliveryErrors = options.warehouse ? (await options.warehouse.deliveryErrors({ limit })).map(listedDeliveryError) : [];
    sendJson(res, 200, { deadLetters: deadLetters.slice(0, limit), functionDeadLetters, deliveryErrors });
  };
  const redriveBatch = async (res: Response, mapping: string, shardId: string, range: string) => {
    if (!/^\d{1,40}-\d{1,40}$/.test(range)) {
      throw new TollstreamError('INVALID_ARGUMENT', `'${range}' is not a batch's range: startSequenceNumber-endSequenceNumber`, { context: { mapping, shardId, range } });
    }
    const [start, end] = range.split('-');
    const all = await listFunctionDeadLetters(options.log, options.consumers.functionRuntimes(), { includeRedriven: true });
    const found = all.find((b) => b.mapping === mapping && b.shardId === shardId && b.startSequenceNumber === start && b.endSequenceNumber === end);
    if (!found) {
      throw new TollstreamError('NOT_FOUND', `'${mapping}' gave up on no batch ${shardId}/${range} that its on-failure destination holds`, { context: { mapping, shardId, range } });
    }
    const records = await found.runtime.redrive(found).catch((err: unknown) => {
      if (!isTollstreamError(err, 'LEASE_NOT_HELD')) throw err;
      const owner = options.leaseOwner?.(leaseKey({ kind: 'function', name: mapping, stream: found.stream }, shardId)) ?? null;
      const where = owner === null ? 'no node holds it right now (try again in a few seconds)' : `send the request to node '${owner}'`;
      throw new TollstreamError('LEASE_NOT_HELD', `${err.message}; ${where}`, { context: { ...err.context, owner }, cause: err });
    });
    options.logger.info('function dead letter sent again', { mapping, shardId, range, records });
    sendJson(res, 200, { redriven: { mapping, shardId, startSequenceNumber: start, endSequenceNumber: end, records } });
  };
  const redrive = async (res: Response, store: string, id: number) => {
    const found = options.consumers.notifyStores().find((s) => s.name === store);
    if (!found) {
      throw new TollstreamError('NOT_FOUND', `there is no notification store '${store}'; stores: ${options.consumers.notifyStores().map((s) => s.name).join(', ') || 'none'}`, { context: { store } });
    }
    await found.notify.redriveDeadLetter(id);
    options.logger.info('dead letter sent again', { store, deadLetterId: id });
    sendJson(res, 200, { redriven: { store, id } });
  };
  const redriveDelivery = async (res: Response, key: { stream: string; table: string; shardId: string; sequenceNumber: string }) => {
    const result = await redriveOne(requireWarehouse(options.warehouse), key);
    options.logger.info('failed delivery record sent again', { ...key, loaded: result.loaded, dropped: result.dropped });
    sendJson(res, 200, { redriven: { ...key, loaded: result.loaded, dropped: result.dropped } });
  };
  return operatorRoutes('/v1/dead-letters', options, [
    { pattern: 'GET /v1/dead-letters', route: (_req, res, _params, query) => list(res, query) },
    { pattern: 'POST /v1/dead-letters/:store/:id(\\d{1,15})/redrive', route: (_req, res, { store, id }) => redrive(res, store!, Number(id)) },
    // A batch a function gave up on: the literal `mappings` wins over a notification store's name.
    { pattern: 'POST /v1/dead-letters/mappings/:mapping/:shardId/:range/redrive', route: (_req, res, { mapping, shardId, range }) => redriveBatch(res, mapping!, shardId!, range!) },
    // Failed delivery records: the literal `deliveries` wins over a notification store's name too.
    {
      pattern: 'POST /v1/dead-letters/deliveries/:stream/:table/:shardId/:sequenceNumber/redrive',
      route: (_req, res, { stream, table, shardId, sequenceNumber }) => redriveDelivery(res, { stream: stream!, table: table!, shardId: shardId!, sequenceNumber: sequenceNumber! }),
    },
    {
      pattern: 'POST /v1/dead-letters/deliveries/redrive',
      route: async (req, res) => {
        const results = await redriveSelection(requireWarehouse(options.warehouse), req);
        options.logger.info('failed delivery records sent again', { records: results.length, refused: results.filter((r) => 'error' in r).length });
        sendJson(res, 200, { results });
      },
    },
  ], 'see docs/notify.md, "Dead letters over HTTP"');
}
