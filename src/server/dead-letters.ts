/**
 * The dead letters of every notification store in the server (webhook, push and email deliveries given up
 * after their last attempt), for operators to browse and send again (operator key):
 *
 *   GET  /v1/dead-letters?limit=100                   -> { deadLetters: [{ store, id, topic, channel, url, attempts, lastError, failedAt, message }] }
 *   POST /v1/dead-letters/{store}/{id}/redrive        -> { redriven: { store, id } }: queued again with a fresh attempt budget
 */
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { asResponse, errorResponse, send, type Request, type Response, type RouteModule } from '../gateway/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
const REDRIVE = /^\/v1\/dead-letters\/([a-z0-9-]{1,64})\/(\d{1,15})\/redrive$/;

export function createDeadLetterRoutes(options: {
  readonly consumers: ConsumerMetrics;
  /** Throws UNAUTHORIZED; the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  readonly logger: Logger;
}): RouteModule {
  let requests = 0;
  const list = (res: Response, query: URLSearchParams) => {
    const limitText = query.get('limit') ?? '100';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new TollstreamError('INVALID_ARGUMENT', `limit must be an integer from 1 to 1000, got '${limitText}'`, { context: { parameter: 'limit' } });
    }
    const deadLetters = options.consumers.notifyStores().flatMap(({ name, notify }) =>
      notify.listDeadLetters({ limit }).map((d) => ({
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
    send(res, 200, JSON_HEADERS, JSON.stringify({ deadLetters: deadLetters.slice(0, limit) }));
  };
  const redrive = (res: Response, store: string, id: number) => {
    const found = options.consumers.notifyStores().find((s) => s.name === store);
    if (!found) {
      throw new TollstreamError('NOT_FOUND', `there is no notification store '${store}'; stores: ${options.consumers.notifyStores().map((s) => s.name).join(', ') || 'none'}`, { context: { store } });
    }
    found.notify.redriveDeadLetter(id);
    options.logger.info('dead letter sent again', { store, deadLetterId: id });
    send(res, 200, JSON_HEADERS, JSON.stringify({ redriven: { store, id } }));
  };
  return {
    matches: (method, path) => (path === '/v1/dead-letters' && (method === 'GET' || method === 'HEAD')) || (method === 'POST' && REDRIVE.test(path)),
    async handle(req: Request, res: Response) {
      try {
        options.operatorAuth(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
        const url = new URL(req.url ?? '/', 'http://localhost');
        const m = REDRIVE.exec(url.pathname);
        if (m) redrive(res, m[1]!, Number(m[2]));
        else list(res, url.searchParams);
      } catch (err) {
        if (asResponse(res).headersSent) return;
        const answer = errorResponse(err, 'native', options.logger, `dead-letters-${(requests++).toString(36)}`);
        send(res, answer.status, answer.headers, answer.body);
      }
    },
  };
}
