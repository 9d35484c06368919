/**
 * `tollstream customers ...`: the ABC Tolls customers of a running server, through the operator routes of the
 * customer API (docs/abc-tolls.md), so trying the customer app takes one command per step, not hand-made HTTP.
 * The app's commands, listed for the command line by `src/apps/commands.ts`.
 */
import { CLIENT_OPTIONS, keyValues, NativeClient, stringFlag, table, UsageError, type Command, type Io } from '../../cli/kit.ts';

/** A customer as the customer API answers it (docs/abc-tolls.md); money in integer cents. */
interface CustomerInfo {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string;
  readonly time_zone: string;
  readonly threshold_cents: number | null;
  readonly currency: string;
  readonly created_at: string;
}

interface ThresholdAnswer {
  readonly threshold_cents: number | null;
  readonly month: string;
  readonly total_cents: number;
  readonly breached: boolean;
}

interface IssuedToken {
  readonly token_id: string;
  readonly token: string;
  readonly created_at: string;
}

const JSON_BODY = 'application/json';
const customerPath = (id: string) => `/v1/customers/${encodeURIComponent(id)}`;

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON instead of text' } } as const;

export const customersCreate: Command = {
  name: 'customers create',
  summary: 'Create a customer of the customer app.',
  args: 'ID',
  positionals: { min: 1, max: 1 },
  options: {
    email: { type: 'string', value: 'ADDRESS', description: 'the email address of the customer (required)' },
    name: { type: 'string', value: 'NAME', description: 'the name shown in the app (default the id)' },
    'time-zone': { type: 'string', value: 'ZONE', description: "IANA zone the customer's months follow (default the deployment's)" },
    ...CLIENT_OPTIONS,
    ...JSON_OPTION,
  },
  examples: ['tollstream customers create C0000042 --email ada@example.com --name "Ada Lovelace"'],
  async run(input) {
    const { values, positionals, io } = input;
    const email = stringFlag(values, 'email');
    if (email === undefined) throw new UsageError('missing --email: a customer needs an email address', "run 'tollstream customers create --help' for usage");
    const name = stringFlag(values, 'name');
    const timeZone = stringFlag(values, 'time-zone');
    const request = { customer_id: positionals[0]!, email, ...(name === undefined ? {} : { name }), ...(timeZone === undefined ? {} : { time_zone: timeZone }) };
    const customer = await NativeClient.fromInput(input).json<CustomerInfo>('POST', '/v1/customers', JSON.stringify(request), JSON_BODY);
    if (values.json) return printJson(io, customer);
    io.stdout.write(`created customer ${customer.customer_id}\n\n${describe(customer)}`);
  },
};

export const customersList: Command = {
  name: 'customers list',
  summary: 'List the customers with their thresholds.',
  positionals: { min: 0, max: 0 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream customers list', 'tollstream customers list --json'],
  async run(input) {
    const client = NativeClient.fromInput(input);
    const customers: CustomerInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.json<{ customers: CustomerInfo[]; cursor?: string }>('GET', `/v1/customers?limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      customers.push(...page.customers);
      cursor = page.cursor;
    } while (cursor !== undefined);
    if (input.values.json) return printJson(input.io, customers);
    if (customers.length === 0) return void input.io.stdout.write("no customers; create one with 'tollstream customers create ID --email ADDRESS'\n");
    const rows = customers.map((c) => [c.customer_id, c.name, c.email, c.time_zone, thresholdText(c.threshold_cents, c.currency)]);
    input.io.stdout.write(table(['ID', 'NAME', 'EMAIL', 'TIME ZONE', 'THRESHOLD'], rows));
  },
};

export const customersThreshold: Command = {
  name: 'customers threshold',
  summary: "Set a customer's monthly spending threshold (or 'none' to remove it).",
  args: 'ID AMOUNT',
  positionals: { min: 2, max: 2 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  description:
    "AMOUNT is in the deployment's currency, with at most two decimals (25, 25.50), or 'none'. A threshold already\n" +
    "below this month's spending alerts the customer at once.",
  examples: ['tollstream customers threshold C0000042 25.00', 'tollstream customers threshold C0000042 none'],
  async run(input) {
    const [id, amount] = input.positionals as [string, string];
    const cents = parseAmount(amount);
    const answer = await NativeClient.fromInput(input).json<ThresholdAnswer>('PUT', `${customerPath(id)}/threshold`, JSON.stringify({ threshold_cents: cents }), JSON_BODY);
    if (input.values.json) return printJson(input.io, answer);
    const lines: Array<[string, string]> = [
      ['customer', id],
      ['threshold', thresholdText(answer.threshold_cents)],
      [`spent in ${answer.month}`, money(answer.total_cents)],
    ];
    if (answer.breached) lines.push(['alert', 'sent: this month is already past the threshold']);
    input.io.stdout.write(keyValues(lines));
  },
};

export const customersIssueToken: Command = {
  name: 'customers issue-token',
  summary: 'Issue a token the customer signs in to /app with (shown this once).',
  args: 'ID',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream customers issue-token C0000042'],
  async run(input) {
    const id = input.positionals[0]!;
    const issued = await NativeClient.fromInput(input).json<IssuedToken>('POST', `${customerPath(id)}/tokens`);
    if (input.values.json) return printJson(input.io, issued);
    input.io.stdout.write(
      keyValues([
        ['customer', id],
        ['token id', issued.token_id],
        ['token', issued.token],
      ]) + `\nThe token is shown only now. Sign in at ${NativeClient.fromInput(input).endpoint}/app/ with it;\nrevoke it with 'tollstream customers revoke-token ${id} ${issued.token_id}'.\n`,
    );
  },
};

export const customersRevokeToken: Command = {
  name: 'customers revoke-token',
  summary: 'Revoke a customer token; it stops working at once.',
  args: 'ID TOKEN_ID',
  positionals: { min: 2, max: 2 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream customers revoke-token C0000042 3f9a0c1d2b4e5f60'],
  async run(input) {
    const [id, tokenId] = input.positionals as [string, string];
    await NativeClient.fromInput(input).json('DELETE', `${customerPath(id)}/tokens/${encodeURIComponent(tokenId)}`);
    if (input.values.json) return printJson(input.io, { revoked: tokenId, customer_id: id });
    input.io.stdout.write(`revoked token ${tokenId} of customer ${id}\n`);
  },
};

/** `25`, `25.5`, `25.50` -> cents; `none` -> null. */
export function parseAmount(text: string): number | null {
  if (text === 'none') return null;
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) throw new UsageError(`'${text}' is not an amount: use a number with at most two decimals (25, 25.50) or 'none'`, "run 'tollstream customers threshold --help' for usage");
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

function money(cents: number, currency?: string): string {
  const text = `${Math.trunc(cents / 100).toLocaleString('en-US')}.${String(cents % 100).padStart(2, '0')}`;
  return currency ? `${text} ${currency}` : text;
}

function thresholdText(cents: number | null, currency?: string): string {
  return cents === null ? 'none' : money(cents, currency);
}

function describe(c: CustomerInfo): string {
  return keyValues([
    ['id', c.customer_id],
    ['name', c.name],
    ['email', c.email],
    ['time zone', c.time_zone],
    ['threshold', thresholdText(c.threshold_cents, c.currency)],
    ['created', c.created_at],
  ]);
}

function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The app's commands, in the order `tollstream --help` lists them. */
export const CUSTOMER_COMMANDS: readonly Command[] = [customersCreate, customersList, customersThreshold, customersIssueToken, customersRevokeToken];
