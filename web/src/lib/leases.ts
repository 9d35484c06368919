/**
 * Which node works which consumer shard, read from `/health`: a cluster node shows the lease table there (a lease
 * key is `<kind>:<consumer>:<stream>:<shardId>`, its owner a node name). A single node shows no leases: it works
 * every shard itself. Plain TypeScript with no DOM use, so the tests import it under Node.
 */

/** The `leases` part of a `/health` answer. */
export interface HealthLeases {
  readonly owner: string;
  readonly held: readonly string[];
  /** Every lease by key with its owner, null while free or expired. */
  readonly owners?: Readonly<Record<string, string | null>>;
}

/** A `/health` answer, as far as the console reads it. */
export interface HealthBody {
  readonly status: string;
  readonly leases?: HealthLeases;
}

export interface ShardOwner {
  readonly stream: string;
  readonly shard: string;
  /** The node holding the lease; null while nobody does (free, or expired and not yet taken). */
  readonly owner: string | null;
}

/** Consumer (`delivery:warehouse`, `function:abc-tolls-validate`) -> who works each of its shards, sorted by shard. */
export function shardOwners(health: HealthBody | undefined): Map<string, ShardOwner[]> {
  const out = new Map<string, ShardOwner[]>();
  const leases = health?.leases;
  if (!leases) return out;
  const owners: Record<string, string | null> = { ...leases.owners };
  for (const key of leases.held) owners[key] = leases.owner;
  for (const [key, owner] of Object.entries(owners)) {
    const parts = key.split(':');
    if (parts.length < 4) continue;
    const consumer = `${parts[0]}:${parts.slice(1, -2).join(':')}`;
    const list = out.get(consumer) ?? [];
    list.push({ stream: parts[parts.length - 2]!, shard: parts[parts.length - 1]!, owner });
    out.set(consumer, list);
  }
  for (const list of out.values()) list.sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream)));
  return out;
}
