/**
 * Alert email through a relay that wants TLS and a login, through the whole server: the settings come as an
 * operator gives them (environment variables, the password in a file, the relay's CA in a file), the relay
 * speaks STARTTLS with a certificate of a CA made for this run and requires AUTH, and the breach arrives
 * encrypted and logged in. A wrong password leaves the mail undelivered with SMTP_AUTH_FAILED in the delivery's
 * error, and the password appears in no log line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { appConfigSections } from '../../src/app-contract/index.ts';
import { makeRelayCertificates, startSmtpServer, type RelayCertificates, type SmtpTestServer } from '../support/smtp-server.ts';
import { api, recentTolls } from './support.ts';
import { waitFor } from '../support/wait.ts';

const PASSWORD = 'relay-pw-' + Math.random().toString(36).slice(2);
const cleanups: Array<() => Promise<void> | void> = [];
let certs: RelayCertificates;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-email-relay-'));
  certs = makeRelayCertificates(dir);
  fs.writeFileSync(path.join(dir, 'smtp-password'), `${PASSWORD}\n`, { mode: 0o600 });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
});
afterEach(async () => {
  while (cleanups.length > 1) await cleanups.pop()!();
});

async function start(smtp: SmtpTestServer, logLines: string[]): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-email-relay-data-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = await loadConfig({
    cwd: dir,
    env: {
      TOLLSTREAM_DATA_DIR: dataDir,
      TOLLSTREAM_PORT: '0',
      TOLLSTREAM_WAREHOUSE_ENABLED: 'false',
      TOLLSTREAM_ALERTS_EMAIL_ENABLED: 'true',
      TOLLSTREAM_ALERTS_EMAIL_FROM: 'ABC Tolls <alerts@tolls.example>',
      TOLLSTREAM_ALERTS_EMAIL_SMTP_HOST: smtp.host,
      TOLLSTREAM_ALERTS_EMAIL_SMTP_PORT: String(smtp.port),
      TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls',
      TOLLSTREAM_ALERTS_EMAIL_CA_FILE: 'ca.pem',
      TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts@tolls.example',
      TOLLSTREAM_ALERTS_EMAIL_PASSWORD_FILE: 'smtp-password',
    },
    // As `tollstream up` reads it: with the shipped apps' sections, `alerts` among them.
    sections: () => SHIPPED_APPS.flatMap((app) => appConfigSections(app)),
  });
  const logger = createLogger({ level: 'debug', write: (line: string) => logLines.push(line) });
  const server = await startServer(config, { apps: SHIPPED_APPS, logger });
  cleanups.push(() => server.close());
  return server;
}

async function breach(server: RunningServer, customer: string): Promise<void> {
  expect((await api(server.url, 'POST', '/v1/customers', { customer_id: customer, name: 'Ada', email: 'ada@example.com' })).status).toBe(201);
  const token = (await api(server.url, 'POST', `/v1/customers/${customer}/tokens`)).json.token as string;
  expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 2500 }, token)).status).toBe(200);
  const tolls = recentTolls(`T-relay-${customer}`, customer, [1200, 900, 1000]);
  const kinesis = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: 'toll_transactions', Records: tolls.map((t) => ({ PartitionKey: t.customer_id, Data: new TextEncoder().encode(JSON.stringify(t)) })) }));
    expect(out.FailedRecordCount).toBe(0);
  } finally {
    kinesis.destroy();
  }
}

describe('alert email through a relay with STARTTLS and a login', () => {
  it('mails the breach encrypted and logged in, with the password read from its file', async () => {
    const smtp = await startSmtpServer({ tls: 'starttls', cert: certs.cert, key: certs.key, auth: { user: 'alerts@tolls.example', password: PASSWORD, mechanisms: ['PLAIN', 'LOGIN'] } });
    cleanups.push(() => smtp.close());
    const logLines: string[] = [];
    const server = await start(smtp, logLines);
    await breach(server, 'C0000042');
    const mail = await waitFor('the email', () => smtp.received[0]);
    expect(mail).toMatchObject({ to: ['ada@example.com'], encrypted: true, user: 'alerts@tolls.example' });
    expect(mail.text).toContain('You have spent $31.00 so far');
    expect(smtp.logins).toEqual([{ mechanism: 'PLAIN', user: 'alerts@tolls.example', password: PASSWORD, accepted: true, encrypted: true }]);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(PASSWORD);
  });

  it('a relay that refuses the password leaves the mail to its retries, SMTP_AUTH_FAILED in the error of the attempt, and logs no password', async () => {
    const smtp = await startSmtpServer({ tls: 'starttls', cert: certs.cert, key: certs.key, auth: { user: 'alerts@tolls.example', password: 'another-password', mechanisms: ['PLAIN'] } });
    cleanups.push(() => smtp.close());
    const logLines: string[] = [];
    const server = await start(smtp, logLines);
    await breach(server, 'C0000043');
    const refused = await waitFor('a refused login', () => smtp.logins[0]);
    expect(refused).toMatchObject({ accepted: false, encrypted: true, password: PASSWORD });
    const failed = await waitFor('the failed attempt in the log', () => logLines.find((l) => l.includes('email attempt failed')));
    expect(JSON.parse(failed).error).toMatch(/^SMTP_AUTH_FAILED: .* answered AUTH PLAIN with 535 /);
    expect(smtp.received).toEqual([]);
    expect(logLines.join('\n')).not.toContain(PASSWORD);
  });
});
