/**
 * One stream, shard by shard (`#/streams/{name}`): each shard's hash key range, parents, span of sequence
 * numbers, records per second (the change between scrapes of `tollstream_records_in_total`), records and bytes,
 * and how far each consumer is behind on it (`tollstream_consumer_lag_records`, `_seconds`).
 */
import { consumerLag } from '../../lib/consumer-lag.ts';
import { formatBytes, formatRate, ratesBetween, type CounterSnapshot } from '../../lib/rates.ts';
import { hashRangeShare, recordsInByShard, type ShardInfo, type ShardsAnswer } from '../../lib/shards.ts';
import type { MetricFamily } from '../../lib/prometheus.ts';
import { dataTable, h, replace } from '../../ui/dom.ts';
import { describeError, every, type ConsoleContext } from '../context.ts';

const SCRAPE_MS = 2000;

/** Draws the per-shard view of `stream` into `container`; returns what stops its polling. */
export function showShards(container: HTMLElement, ctx: ConsoleContext, stream: string): () => void {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const shardsBox = h('div', {}, h('p', { class: 'loading' }, 'Loading shards…'));
  const consumersBox = h('div', {});
  replace(
    container,
    h('p', {}, h('a', { href: '#/streams' }, '← All streams')),
    error,
    h('section', { 'aria-labelledby': 'shards-h' }, h('h2', { id: 'shards-h' }, `Shards of ${stream}`), shardsBox),
    h('section', { 'aria-labelledby': 'shard-consumers-h' }, h('h2', { id: 'shard-consumers-h' }, 'Consumers, per shard'), consumersBox),
  );
  let previous: CounterSnapshot | undefined;
  return every(SCRAPE_MS, async () => {
    try {
      const [answer, families] = await Promise.all([ctx.json<ShardsAnswer>(`/v1/streams/${encodeURIComponent(stream)}/shards`), ctx.metrics()]);
      const now: CounterSnapshot = { at: Date.now(), values: recordsInByShard(families, stream) };
      const rates = ratesBetween(previous, now);
      previous = now;
      error.hidden = true;
      replace(shardsBox, shardTable(answer.shards, rates));
      replace(consumersBox, consumerTable(families, stream, answer.shards));
    } catch (err) {
      error.hidden = false;
      error.textContent = `Could not read the shards of ${stream}: ${describeError(err)}`;
    }
  });
}

function shardTable(shards: readonly ShardInfo[], rates: ReadonlyMap<string, number>): HTMLElement {
  const count = (n: number) => n.toLocaleString('en-US');
  const rows = shards.map((s) => {
    const range = hashRangeShare(s.hashKeyRange);
    return [
      s.shardId,
      s.open ? 'open' : 'closed',
      s.parentShardIds.length === 0 ? '—' : s.parentShardIds.join(', '),
      h('span', { title: `${s.hashKeyRange.startingHashKey} to ${s.hashKeyRange.endingHashKey}`, 'data-testid': 'hash-range' }, `${range.from}% to ${range.to}% (${range.share}%)`),
      h('code', { title: `${s.startingSequenceNumber} to ${s.endingSequenceNumber ?? s.latestSequenceNumber ?? 'nothing yet'}` }, `…${s.startingSequenceNumber.slice(-6)} to ${s.latestSequenceNumber === undefined ? 'no record yet' : `…${s.latestSequenceNumber.slice(-6)}`}`),
      rates.has(s.shardId) ? formatRate(rates.get(s.shardId)!) : '…',
      h('span', { 'data-testid': 'shard-records-in' }, count(s.recordsIn)),
      formatBytes(s.storedBytes),
      s.latestArrivalTime === undefined ? '—' : `${s.latestArrivalTime.slice(0, 19).replace('T', ' ')} UTC`,
    ];
  });
  return dataTable(['Shard', 'State', 'Parents', 'Hash keys', 'Sequence numbers', 'Records/s', 'Records in', 'Stored', 'Newest record'], rows, `${shards.length} shard${shards.length === 1 ? '' : 's'}`);
}

/** One row per consumer of the stream, one column per shard: records and seconds behind. */
function consumerTable(families: Map<string, MetricFamily>, stream: string, shards: readonly ShardInfo[]): HTMLElement {
  const lags = consumerLag(families)
    .map((l) => ({ ...l, shards: l.shards.filter((s) => s.stream === stream) }))
    .filter((l) => l.shards.length > 0);
  if (lags.length === 0) return h('p', { class: 'muted' }, `No consumer reports how far behind it is on ${stream}.`);
  const rows = lags.map((l) => [
    l.consumer,
    l.kind,
    ...shards.map((shard) => {
      const lag = l.shards.find((s) => s.shard === shard.shardId);
      if (!lag) return '—';
      return h('span', { 'data-testid': 'consumer-shard-lag', 'data-shard': shard.shardId }, `${lag.records.toLocaleString('en-US')} records${lag.seconds === undefined ? '' : `, ${formatRate(lag.seconds)} s`}`);
    }),
  ]);
  return dataTable(['Consumer', 'Kind', ...shards.map((s) => s.shardId)], rows, `Consumers of ${stream}: records and seconds behind, per shard`);
}
