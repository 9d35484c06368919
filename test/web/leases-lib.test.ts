/** The Streams page's "Node per shard": who works each consumer shard, read from a cluster node's /health. */
import { describe, expect, it } from 'vitest';
import { shardOwners } from '../../web/src/lib/leases.ts';

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
