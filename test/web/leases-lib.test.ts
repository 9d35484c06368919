/**
 * The Streams page's "Node per shard" and the Queries page's node of each query: who works each consumer shard and
 * who runs each continuous query, read from a cluster node's /health.
 */
import { describe, expect, it } from 'vitest';
import { queryOwners, shardOwners } from '../../web/src/lib/leases.ts';

describe('shardOwners', () => {
  it('lists the node working each shard of each consumer, deliveries and function mappings apart', () => {
    // As a cluster node answers /health (src/gateway/gateway.ts).
    const health = {
      status: 'ok',
      leases: {
        owner: 'node-1',
        storeReachable: true,
        fairShare: 2,
        held: ['function:abc-tolls-validate:toll_transactions:shardId-000000000000'],
        owners: {
          'delivery:warehouse:toll_transactions:shardId-000000000001': 'node-2',
          'delivery:warehouse:toll_transactions:shardId-000000000000': 'node-1',
          'function:abc-tolls-validate:toll_transactions:shardId-000000000000': null,
          'function:abc-tolls-validate:toll_transactions:shardId-000000000001': null,
        },
      },
    };
    expect(Object.fromEntries(shardOwners(health))).toEqual({
      'delivery:warehouse': [
        { stream: 'toll_transactions', shard: 'shardId-000000000000', owner: 'node-1' },
        { stream: 'toll_transactions', shard: 'shardId-000000000001', owner: 'node-2' },
      ],
      // What the node holds is its own, even if the table it last read said otherwise; the rest is free.
      'function:abc-tolls-validate': [
        { stream: 'toll_transactions', shard: 'shardId-000000000000', owner: 'node-1' },
        { stream: 'toll_transactions', shard: 'shardId-000000000001', owner: null },
      ],
    });
  });

  it('shows nothing for a single node, whose /health has no leases', () => {
    expect(shardOwners({ status: 'ok' }).size).toBe(0);
    expect(shardOwners(undefined).size).toBe(0);
  });

  it('reads the held leases of a node whose /health has no table', () => {
    expect(Object.fromEntries(shardOwners({ status: 'ok', leases: { owner: 'node-3', held: ['delivery:breaches:spend_alerts:shardId-000000000000'] } }))).toEqual({
      'delivery:breaches': [{ stream: 'spend_alerts', shard: 'shardId-000000000000', owner: 'node-3' }],
    });
  });
});

describe('queryOwners', () => {
  // As a cluster node that runs `spend` answers /health: `counts` runs on node-2, `late` on nobody yet.
  const health = {
    status: 'ok',
    leases: {
      owner: 'node-1',
      storeReachable: true,
      fairShare: 2,
      held: ['query:spend', 'delivery:warehouse:toll_transactions:shardId-000000000000'],
      owners: {
        'query:spend': 'node-1',
        'query:counts': 'node-2',
        'query:late': null,
        'delivery:warehouse:toll_transactions:shardId-000000000000': 'node-1',
      },
    },
  };

  it('names the node running each query, null for a query no node holds', () => {
    expect(Object.fromEntries(queryOwners(health))).toEqual({ spend: 'node-1', counts: 'node-2', late: null });
  });

  it('keeps queries out of the shard owners, and shard leases out of the query owners', () => {
    expect([...shardOwners(health).keys()]).toEqual(['delivery:warehouse']);
    expect(queryOwners({ status: 'ok', leases: { owner: 'node-3', held: ['delivery:breaches:spend_alerts:shardId-000000000000'] } }).size).toBe(0);
  });

  it('takes the node\'s own held query as its own, and is empty on a single node', () => {
    expect(queryOwners({ status: 'ok', leases: { owner: 'node-3', held: ['query:spend'], owners: { 'query:spend': 'node-1' } } }).get('spend')).toBe('node-3');
    expect(queryOwners({ status: 'ok' }).size).toBe(0);
    expect(queryOwners(undefined).size).toBe(0);
  });
});
