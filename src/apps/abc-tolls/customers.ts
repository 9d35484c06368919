/**
 * Customers, their API tokens and their monthly spend thresholds, kept in tables.
 *
 * A token is 32 random bytes in base64url, shown once; only its SHA-256 is stored. Looking a token up by
 * its hash is safe against timing: what an index lookup leaks is about the hash of the caller's own guess,
 * which says nothing about any stored token; the final comparison is constant-time anyway.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import type { Tables } from '../../tables/index.ts';
import { assertTimeZone } from './calendar.ts';
import { SpendLedger, type LedgerOptions } from './ledger.ts';
import { isCustomerId, MAX_CUSTOMER_ID_LENGTH } from './schema.ts';
import { ensureTables, TABLES, type CustomerItem, type TokenItem } from './tables.ts';

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
  readonly tables: Tables;
  /** @default Date.now */
  readonly now?: () => number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const TOKEN_BYTES = 32;
/** base64url of 32 bytes, no padding. */
const TOKEN_LENGTH = 43;
const TOKEN_ID_HEX = 16;

export class Customers {
  readonly #tables: Tables;
  readonly #ledger: SpendLedger;
  readonly #now: () => number;

  /** Creates the app's tables if missing. Thresholds publish on the ledger's topic, which must exist (see `startSpendAlerts`). */
  constructor(options: CustomersOptions) {
    this.#tables = options.tables;
    this.#ledger = new SpendLedger(options);
    this.#now = options.now ?? Date.now;
    ensureTables(options.tables);
  }

  create(input: CustomerInput): Customer {
    const item = this.#checkInput(input);
    const value = { ...item, created_at: this.#now() };
    try {
      this.#tables.put(TABLES.customers, { pk: input.id }, value, { condition: { item: 'absent' } });
    } catch (err) {
      if (isTollstreamError(err, 'CONDITION_FAILED')) {
        throw new TollstreamError('INVALID_ARGUMENT', `customer '${input.id}' already exists; update it instead`, { context: { customerId: input.id } });
      }
      throw err;
    }
    return toCustomer(value);
  }

  /** Changes name, email and time zone; the threshold is changed with `setThreshold`. */
  update(input: CustomerInput): Customer {
    const item = this.#checkInput(input);
    const set = { name: item.name, email: item.email, ...(item.time_zone !== undefined ? { time_zone: item.time_zone } : {}) };
    const updated = this.#tables.transaction((tx) => {
      if (!tx.get(TABLES.customers, { pk: input.id })) throw notFound(input.id);
      return tx.update(TABLES.customers, { pk: input.id }, { set, ...(item.time_zone === undefined ? { remove: ['time_zone'] } : {}) });
    });
    return toCustomer(updated.value as unknown as CustomerItem);
  }

  get(customerId: string): Customer | undefined {
    const item = this.#tables.get(TABLES.customers, { pk: customerId });
    return item ? toCustomer(item.value as unknown as CustomerItem) : undefined;
  }

  /** Customers in id order, a page at a time; pass the returned `cursor` back for the next page. */
  list(options: { limit?: number; cursor?: string } = {}): { customers: Customer[]; cursor?: string } {
    const page = this.#tables.scan(TABLES.customers, options);
    const customers = page.items.map((item) => toCustomer(item.value as unknown as CustomerItem));
    return page.cursor === undefined ? { customers } : { customers, cursor: page.cursor };
  }

  /**
   * Sets the monthly threshold. In the same transaction, if this month's total is already past it, the
   * breach is published at once (a lowered threshold alerts now, not at the next toll). A threshold that
   * is raised above the total can be breached again later: each threshold has its own notification.
   */
  setThreshold(customerId: string, thresholdCents: number): ThresholdChange {
    if (!Number.isSafeInteger(thresholdCents) || thresholdCents < 0) {
      throw new TollstreamError('INVALID_ARGUMENT', 'a threshold is a whole number of cents, 0 or more', { context: { customerId, thresholdCents } });
    }
    const now = this.#now();
    return this.#tables.transaction((tx) => {
      if (!tx.get(TABLES.customers, { pk: customerId })) throw notFound(customerId);
      tx.update(TABLES.customers, { pk: customerId }, { set: { threshold_cents: thresholdCents } });
      const check = this.#ledger.checkThreshold(tx, customerId, thresholdCents, now);
      return { customerId, thresholdCents, month: check.month, monthTotalCents: check.totalCents, breached: check.breached };
    });
  }

  /** Removes the threshold: no more alerts until one is set again. */
  clearThreshold(customerId: string): void {
    this.#tables.transaction((tx) => {
      if (!tx.get(TABLES.customers, { pk: customerId })) throw notFound(customerId);
      tx.update(TABLES.customers, { pk: customerId }, { remove: ['threshold_cents'] });
    });
  }

  /** Turns alert emails to the customer off (`false`) or back on; returns the customer as it is now. */
  setEmailAlerts(customerId: string, on: boolean): Customer {
    const updated = this.#tables.transaction((tx) => {
      if (!tx.get(TABLES.customers, { pk: customerId })) throw notFound(customerId);
      return tx.update(TABLES.customers, { pk: customerId }, on ? { remove: ['email_alerts_off'] } : { set: { email_alerts_off: true } });
    });
    return toCustomer(updated.value as unknown as CustomerItem);
  }

  /** A new token for the customer. The returned `token` is the only copy of the secret. */
  issueToken(customerId: string): IssuedToken {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const hash = sha256Hex(token);
    const tokenId = hash.slice(0, TOKEN_ID_HEX);
    const createdAt = this.#now();
    this.#tables.transaction((tx) => {
      if (!tx.get(TABLES.customers, { pk: customerId })) throw notFound(customerId);
      const item: TokenItem = { customer_id: customerId, token_id: tokenId, created_at: createdAt };
      tx.put(TABLES.tokens, { pk: hash }, item, { condition: { item: 'absent' } });
      tx.put(TABLES.tokensByCustomer, { pk: customerId, sk: tokenId }, { token_hash: hash, created_at: createdAt });
    });
    return { token, tokenId, createdAt };
  }

  listTokens(customerId: string): TokenInfo[] {
    const out: TokenInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = this.#tables.query(TABLES.tokensByCustomer, customerId, { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) out.push({ tokenId: item.sk!, createdAt: item.value.created_at as number });
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  /** Revokes one token; returns false when the customer has no such token. */
  revokeToken(customerId: string, tokenId: string): boolean {
    return this.#tables.transaction((tx) => {
      const entry = tx.delete(TABLES.tokensByCustomer, { pk: customerId, sk: tokenId });
      if (!entry) return false;
      tx.delete(TABLES.tokens, { pk: entry.value.token_hash as string });
      return true;
    });
  }

  /** The customer a token belongs to, or undefined for an unknown, revoked or malformed token. */
  customerForToken(token: unknown): Customer | undefined {
    if (typeof token !== 'string' || token.length !== TOKEN_LENGTH) return undefined;
    const hash = sha256Hex(token);
    const found = this.#tables.get(TABLES.tokens, { pk: hash });
    if (!found || !timingSafeEqual(Buffer.from(found.pk, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    return this.get((found.value as unknown as TokenItem).customer_id);
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
