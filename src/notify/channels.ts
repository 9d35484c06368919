/**
 * How one delivery leaves the process, per channel: a signed webhook POST, an encrypted Web Push message, an
 * email through SMTP. Each send resolves with its outcome and never throws; the dispatcher records it (retry
 * with backoff, dead letter) the same way for every channel.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { JsonObject } from '../tables/index.ts';
import type { DueDelivery } from './deliveries.ts';
import { sendMail, SmtpError } from './smtp.ts';
import type { EmailOptions, RenderedMessage, RetryPolicy, WebPushOptions } from './types.ts';
import { encryptPushPayload, vapidAuthorization, type PushTarget } from './webpush.ts';
import { signWebhook } from './webhook.ts';

export interface SendOutcome {
  /** Why the attempt failed; undefined when it succeeded. */
  readonly error?: string;
  /** Retrying cannot succeed (a 5xx SMTP reply, a push subscription that is gone): dead-letter at once. */
  readonly permanent?: boolean;
  /** The push service says the subscription no longer exists (404, 410): remove the subscription. */
  readonly subscriptionGone?: boolean;
}

export interface ChannelDeps {
  readonly fetch: typeof fetch;
  readonly retry: RetryPolicy;
  readonly webPush: WebPushOptions | undefined;
  readonly email: EmailOptions | undefined;
  readonly render: (topic: string, message: JsonObject) => RenderedMessage;
  readonly now: () => number;
}

/** The default words of a message: its topic, and its JSON. */
export function renderPlainly(topic: string, message: JsonObject): RenderedMessage {
  return { title: topic, text: JSON.stringify(message, null, 2) };
}

export async function send(delivery: DueDelivery, deps: ChannelDeps, stopping: AbortSignal): Promise<SendOutcome> {
  switch (delivery.channel) {
    case 'webhook':
      return sendWebhook(delivery, deps, stopping);
    case 'webpush':
      return sendWebPush(delivery, deps, stopping);
    case 'email':
      return sendEmail(delivery, deps, stopping);
  }
  return { error: `unknown delivery channel '${String(delivery.channel)}'`, permanent: true };
}

/** The JSON body webhooks receive: `{ type, timestamp, data }`. */
function envelope(delivery: DueDelivery): string {
  return `{"type":${JSON.stringify(delivery.topic)},"timestamp":"${new Date(delivery.created_at).toISOString()}","data":${delivery.message}}`;
}

async function sendWebhook(delivery: DueDelivery, deps: ChannelDeps, stopping: AbortSignal): Promise<SendOutcome> {
  const body = envelope(delivery);
  const timestamp = Math.floor(deps.now() / 1000);
  return post(deps, stopping, delivery.url, body, {
    'content-type': 'application/json',
    'user-agent': 'Tollstream-Webhooks/1',
    'webhook-id': delivery.idempotency_key,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(delivery.secret, delivery.idempotency_key, timestamp, body),
  });
}

async function sendWebPush(delivery: DueDelivery, deps: ChannelDeps, stopping: AbortSignal): Promise<SendOutcome> {
  const push = deps.webPush;
  if (!push?.keys) return { error: 'Web Push is not configured in this process (no VAPID keys)' };
  let target: Pick<PushTarget, 'p256dh' | 'auth'>;
  try {
    target = JSON.parse(delivery.secret) as Pick<PushTarget, 'p256dh' | 'auth'>;
  } catch {
    return { error: 'the push subscription keys are unreadable', permanent: true };
  }
  const message = JSON.parse(delivery.message) as JsonObject;
  const words = deps.render(delivery.topic, message);
  // What the service worker shows (title, text) and the message itself, for the page it opens.
  const payload = JSON.stringify({
    type: delivery.topic,
    id: delivery.idempotency_key,
    timestamp: new Date(delivery.created_at).toISOString(),
    title: words.title,
    text: words.text,
    data: message,
  });
  let body: Buffer;
  try {
    body = encryptPushPayload(Buffer.from(payload), target);
  } catch (err) {
    return { error: (err as Error).message, permanent: true };
  }
  const outcome = await post(deps, stopping, delivery.url, body, {
    'content-type': 'application/octet-stream',
    'content-encoding': 'aes128gcm',
    ttl: String(push.ttlSeconds ?? 86_400),
    urgency: 'high',
    // The key makes a repeated attempt replace the first one in the push service's queue, not add to it.
    topic: crypto.createHash('sha256').update(delivery.idempotency_key).digest('base64url').slice(0, 32),
    authorization: vapidAuthorization(delivery.url, push.keys, push.subject, deps.now()),
  });
  if (outcome.error === 'HTTP 404' || outcome.error === 'HTTP 410') {
    return { error: `${outcome.error}: the push service no longer knows this subscription`, permanent: true, subscriptionGone: true };
  }
  return outcome;
}

async function sendEmail(delivery: DueDelivery, deps: ChannelDeps, stopping: AbortSignal): Promise<SendOutcome> {
  const email = deps.email;
  if (!email) return { error: 'email is not configured in this process (SMTP settings)' };
  const message = JSON.parse(delivery.message) as JsonObject;
  const words = deps.render(delivery.topic, message);
  const unsubscribeUrl = email.unsubscribeUrl?.(delivery.topic, message);
  try {
    await sendMail(
      { host: email.host, port: email.port, helloName: email.helloName ?? os.hostname(), ...email.security },
      {
        from: email.from,
        to: delivery.url.replace(/^mailto:/, ''),
        subject: words.title,
        text: unsubscribeUrl === undefined ? words.text : `${words.text}\n\nTo stop these emails: ${unsubscribeUrl}`,
        ...(unsubscribeUrl !== undefined ? { unsubscribeUrl } : {}),
        // The same id on every attempt, so a mail client shows a repeat as one message.
        messageId: `${Buffer.from(delivery.idempotency_key).toString('base64url')}@tollstream`,
        date: new Date(delivery.created_at),
      },
      { signal: stopping, timeoutMs: deps.retry.timeoutMs },
    );
    return {};
  } catch (err) {
    if (stopping.aborted) throw err;
    return err instanceof SmtpError ? { error: `${err.code}: ${err.message}`, permanent: err.permanent } : { error: (err as Error).message };
  }
}

async function post(deps: ChannelDeps, stopping: AbortSignal, url: string, body: string | Buffer, headers: Record<string, string>): Promise<SendOutcome> {
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      headers,
      signal: AbortSignal.any([stopping, AbortSignal.timeout(deps.retry.timeoutMs)]),
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status <= 299 ? {} : { error: `HTTP ${response.status}` };
  } catch (err) {
    // Stopped mid-request: the dispatcher drops the attempt (it stays pending for the next start).
    if (stopping.aborted) throw err;
    return { error: describeFetchError(err, deps.retry.timeoutMs) };
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
