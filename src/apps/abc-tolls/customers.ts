/**
 * Customers, their API tokens and their monthly spend thresholds, kept in tables.
 *
 * A token is 32 random bytes in base64url, shown once; only its SHA-256 is stored. Looking a token up by
 * its hash is safe against timing: what an index lookup leaks is about the hash of the caller's own guess,
 * which says nothing about any stored token; the final comparison is constant-time anyway.
 *
 * Everything goes through the asynchronous door `TableStore`, so the app's state can be on SQLite or PostgreSQL.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import type { TableStore } from '../../tables/index.ts';
import { assertTimeZone } from './calendar.ts';
import { SpendLedger, type LedgerOptions } from './ledger.ts';
import { isCustomerId, MAX_CUSTOMER_ID_LENGTH } from './schema.ts';
import { ensureStoreTables, TABLES, type CustomerItem, type TokenItem } from './tables.ts';

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly timeZone?: string;
  readonly thresholdCents?: number;
  /** False once the customer stopped alert emails; their alerts still reach the inbox and their browsers. */
  readonly emailAlerts: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
}

export interface CustomerInput {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /** IANA zone, for display. */
  readonly timeZone?: string;
}

export interface IssuedToken {
  /** The secret: shown this once, never stored. */
  readonly token: string;
  /** Names the token for listing and revoking; not a secret. */
  readonly tokenId: string;
  readonly createdAt: number;
}

export interface TokenInfo {
  readonly tokenId: string;
  readonly createdAt: number;
}

export interface ThresholdChange {
  readonly customerId: string;
  readonly thresholdCents: number | undefined;
  readonly month: string;
  readonly monthTotalCents: number;
  /** True when the month was already past the new threshold, so a breach was published with the change. */
  readonly breached: boolean;
}

export interface CustomersOptions extends LedgerOptions {
  /** The tables the app's state is in (SQLite or PostgreSQL): the store its pipeline commits to. */
  readonly store: TableStore;
  /** @default Date.now */
  readonly now?: () => number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const TOKEN_BYTES = 32;
/** base64url of 32 bytes, no padding. */
const TOKEN_LENGTH = 43;
const TOKEN_ID_HEX = 16;

export class Customers {
  readonly #store: TableStore;
  readonly #ledger: SpendLedger;
  readonly #now: () => number;
  /** SHA-256 (hex) of the customer tokens this process knows to be live; see `isCustomerToken`. */
  readonly #tokenHashes = new Set<string>();

  /**
   * Creates the app's tables if missing and reads which tokens exist. Thresholds publish on the ledger's topic,
   * which must exist (see `startSpendAlerts`).
   */
  static async open(options: CustomersOptions): Promise<Customers> {
    await ensureStoreTables(options.store);
    const customers = new Customers(options);
    await customers.#loadTokenHashes();
    return customers;
  }

  private constructor(options: CustomersOptions) {
    this.#store = options.store;
    this.#ledger = new SpendLedger(options);
    this.#now = options.now ?? Date.now;
  }

  async #loadTokenHashes(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.#store.scan(TABLES.tokens, { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) this.#tokenHashes.add(item.pk);
      cursor = page.cursor;
    } while (cursor);
  }

  async create(input: CustomerInput): Promise<Customer> {
    const item = this.#checkInput(input);
    const value = { ...item, created_at: this.#now() };
    try {
      await this.#store.put(TABLES.customers, { pk: input.id }, value, { condition: { item: 'absent' } });
    } catch (err) {
      if (isTollstreamError(err, 'CONDITION_FAILED')) {
        throw new TollstreamError('INVALID_ARGUMENT', `customer '${input.id}' already exists; update it instead`, { context: { customerId: input.id } });
      }
      throw err;
    }
    return toCustomer(value);
  }

  /** Changes name, email and time zone; the threshold is changed with `setThreshold`. */
  async update(input: CustomerInput): Promise<Customer> {
    const item = this.#checkInput(input);
    const set = { name: item.name, email: item.email, ...(item.time_zone !== undefined ? { time_zone: item.time_zone } : {}) };
    const updated = await this.#store.transaction(async (tx) => {
      if (!(await tx.get(TABLES.customers, { pk: input.id }))) throw notFound(input.id);
      return tx.update(TABLES.customers, { pk: input.id }, { set, ...(item.time_zone === undefined ? { remove: ['time_zone'] } : {}) });
    });
    return toCustomer(updated.value as unknown as CustomerItem);
  }

  async get(customerId: string): Promise<Customer | undefined> {
    const item = await this.#store.get(TABLES.customers, { pk: customerId });
    return item ? toCustomer(item.value as unknown as CustomerItem) : undefined;
  }

  /** Customers in id order, a page at a time; pass the returned `cursor` back for the next page. */
  async list(options: { limit?: number; cursor?: string } = {}): Promise<{ customers: Customer[]; cursor?: string }> {
    const page = await this.#store.scan(TABLES.customers, options);
    const customers = page.items.map((item) => toCustomer(item.value as unknown as CustomerItem));
    return page.cursor === undefined ? { customers } : { customers, cursor: page.cursor };
  }

  /**
   * Sets the monthly threshold. In the same transaction, if this month's total is already past it, the
   * breach is published at once (a lowered threshold alerts now, not at the next toll). A threshold that
   * is raised above the total can be breached again later: each threshold has its own notification.
   */
  async setThreshold(customerId: string, thresholdCents: number): Promise<ThresholdChange> {
    if (!Number.isSafeInteger(thresholdCents) || thresholdCents < 0) {
      throw new TollstreamError('INVALID_ARGUMENT', 'a threshold is a whole number of cents, 0 or more', { context: { customerId, thresholdCents } });
    }
    const now = this.#now();
    return this.#store.transaction(async (tx) => {
      if (!(await tx.get(TABLES.customers, { pk: customerId }))) throw notFound(customerId);
      await tx.update(TABLES.customers, { pk: customerId }, { set: { threshold_cents: thresholdCents } });
      const check = await this.#ledger.checkThreshold(tx, customerId, thresholdCents, now);
      return { customerId, thresholdCents, month: check.month, monthTotalCents: check.totalCents, breached: check.breached };
    });
  }

  /** Removes the threshold: no more alerts until one is set again. */
  async clearThreshold(customerId: string): Promise<void> {
    await this.#store.transaction(async (tx) => {
      if (!(await tx.get(TABLES.customers, { pk: customerId }))) throw notFound(customerId);
      await tx.update(TABLES.customers, { pk: customerId }, { remove: ['threshold_cents'] });
    });
  }

  /** Turns alert emails to the customer off (`false`) or back on; returns the customer as it is now. */
  async setEmailAlerts(customerId: string, on: boolean): Promise<Customer> {
    const updated = await this.#store.transaction(async (tx) => {
      if (!(await tx.get(TABLES.customers, { pk: customerId }))) throw notFound(customerId);
      return tx.update(TABLES.customers, { pk: customerId }, on ? { remove: ['email_alerts_off'] } : { set: { email_alerts_off: true } });
    });
    return toCustomer(updated.value as unknown as CustomerItem);
  }

  /** A new token for the customer. The returned `token` is the only copy of the secret. */
  async issueToken(customerId: string): Promise<IssuedToken> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const hash = sha256Hex(token);
    const tokenId = hash.slice(0, TOKEN_ID_HEX);
    const createdAt = this.#now();
    await this.#store.transaction(async (tx) => {
      if (!(await tx.get(TABLES.customers, { pk: customerId }))) throw notFound(customerId);
      const item: TokenItem = { customer_id: customerId, token_id: tokenId, created_at: createdAt };
      await tx.put(TABLES.tokens, { pk: hash }, item, { condition: { item: 'absent' } });
      await tx.put(TABLES.tokensByCustomer, { pk: customerId, sk: tokenId }, { token_hash: hash, created_at: createdAt });
    });
    this.#tokenHashes.add(hash);
    return { token, tokenId, createdAt };
  }

  async listTokens(customerId: string): Promise<TokenInfo[]> {
    const out: TokenInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.query(TABLES.tokensByCustomer, customerId, { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) out.push({ tokenId: item.sk!, createdAt: item.value.created_at as number });
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  /** Revokes one token; returns false when the customer has no such token. */
  async revokeToken(customerId: string, tokenId: string): Promise<boolean> {
    const hash = await this.#store.transaction(async (tx) => {
      const entry = await tx.delete(TABLES.tokensByCustomer, { pk: customerId, sk: tokenId });
      if (!entry) return undefined;
      const tokenHash = entry.value.token_hash as string;
      await tx.delete(TABLES.tokens, { pk: tokenHash });
      return tokenHash;
    });
    if (hash === undefined) return false;
    this.#tokenHashes.delete(hash);
    return true;
  }

  /** The customer a token belongs to, or undefined for an unknown, revoked or malformed token. */
  async customerForToken(token: unknown): Promise<Customer | undefined> {
    if (typeof token !== 'string' || token.length !== TOKEN_LENGTH) return undefined;
    const hash = sha256Hex(token);
    const found = await this.#store.get(TABLES.tokens, { pk: hash });
    if (!found || !timingSafeEqual(Buffer.from(found.pk, 'hex'), Buffer.from(hash, 'hex'))) {
      this.#tokenHashes.delete(hash);
      return undefined;
    }
    // A token another node issued is known here from its first use on.
    this.#tokenHashes.add(hash);
    return this.get((found.value as unknown as TokenItem).customer_id);
  }

  /**
   * Whether `token` is a customer token, answered at once without the store, for the operator check that must
   * refuse one (`customerTokens`). Exact for the tokens of this process (read at `open`, issued and revoked
   * here); with several nodes on one store, a token issued on another node is known from its first use here
   * (`customerForToken`) or this node's next start, and one revoked there until then.
   */
  /** Where alert emails to a customer go: their address, or undefined when the customer does not exist or stopped them. */
  async emailAddress(customerId: string): Promise<string | undefined> {
    const customer = await this.get(customerId);
    return customer?.emailAlerts ? customer.email : undefined;
  }

  isCustomerToken(token: string): boolean {
    return token.length === TOKEN_LENGTH && this.#tokenHashes.has(sha256Hex(token));
  }

  #checkInput(input: CustomerInput): { customer_id: string; name: string; email: string; time_zone?: string } {
    if (typeof input?.id !== 'string' || !isCustomerId(input.id)) {
      throw new TollstreamError('INVALID_ARGUMENT', `a customer id is 1 to ${MAX_CUSTOMER_ID_LENGTH} visible ASCII characters`, { context: { customerId: input?.id } });
    }
    if (typeof input.name !== 'string' || input.name.trim() === '') {
      throw new TollstreamError('INVALID_ARGUMENT', 'a customer needs a name', { context: { customerId: input.id } });
    }
    if (typeof input.email !== 'string' || !EMAIL.test(input.email)) {
      throw new TollstreamError('INVALID_ARGUMENT', `'${String(input.email)}' is not an email address`, { context: { customerId: input.id } });
    }
    if (input.timeZone !== undefined) assertTimeZone(input.timeZone);
    return { customer_id: input.id, name: input.name, email: input.email, ...(input.timeZone !== undefined ? { time_zone: input.timeZone } : {}) };
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function notFound(customerId: string): TollstreamError {
  return new TollstreamError('NOT_FOUND', `customer '${customerId}' does not exist; create it first`, { context: { customerId } });
}

function toCustomer(item: CustomerItem): Customer {
  return {
    id: item.customer_id,
    name: item.name,
    email: item.email,
    emailAlerts: item.email_alerts_off !== true,
    createdAt: item.created_at,
    ...(item.time_zone !== undefined ? { timeZone: item.time_zone } : {}),
    ...(item.threshold_cents !== undefined ? { thresholdCents: item.threshold_cents } : {}),
  };
}
