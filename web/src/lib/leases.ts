/**
 * Which node works which consumer shard, and which runs each continuous query, read from `/health`: a cluster node
 * shows the lease table there (a lease key is `<kind>:<consumer>:<stream>:<shardId>`, or `query:<name>` for a
 * query; its owner a node name). A single node shows no leases: it works every shard and runs every query itself. Plain TypeScript with no DOM use, so the tests import it under Node.
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

/** Every lease by key with its owner; what the node holds is its own, even if the table it last read said otherwise. */
function leaseOwners(leases: HealthLeases): Record<string, string | null> {
  const owners: Record<string, string | null> = { ...leases.owners };
  for (const key of leases.held) owners[key] = leases.owner;
  return owners;
}

/** Consumer (`delivery:warehouse`, `function:abc-tolls-validate`) -> who works each of its shards, sorted by shard. */
export function shardOwners(health: HealthBody | undefined): Map<string, ShardOwner[]> {
  const out = new Map<string, ShardOwner[]>();
  const leases = health?.leases;
  if (!leases) return out;
  for (const [key, owner] of Object.entries(leaseOwners(leases))) {
    const parts = key.split(':');
    if (parts.length < 4 || parts[0] === QUERY_PREFIX) continue;
    const consumer = `${parts[0]}:${parts.slice(1, -2).join(':')}`;
    const list = out.get(consumer) ?? [];
    list.push({ stream: parts[parts.length - 2]!, shard: parts[parts.length - 1]!, owner });
    out.set(consumer, list);
  }
  for (const list of out.values()) list.sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream)));
  return out;
}

const QUERY_PREFIX = 'query';

/**
 * Continuous query name -> the node running it (its lease `query:<name>`), null while nobody holds the lease.
 * Empty for a single node.
 */
export function queryOwners(health: HealthBody | undefined): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const leases = health?.leases;
  if (!leases) return out;
  for (const [key, owner] of Object.entries(leaseOwners(leases))) {
    if (key.startsWith(`${QUERY_PREFIX}:`)) out.set(key.slice(QUERY_PREFIX.length + 1), owner);
  }
  return out;
}
