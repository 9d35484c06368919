/** What the example handler reads from a toll record. */
export interface Toll {
  readonly plaza_id: string;
  readonly amount_cents: number;
}

export function tollOf(value: unknown): Toll {
  const v = value as Partial<Toll>;
  if (typeof v.plaza_id !== 'string' || !Number.isInteger(v.amount_cents)) throw new Error(`not a toll: ${JSON.stringify(value)}`);
  return { plaza_id: v.plaza_id, amount_cents: v.amount_cents! };
}
