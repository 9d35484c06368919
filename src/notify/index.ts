/**
 * Notifications: the one public door. `openNotify({ tables })` (SQLite, one process) and `openPostgresNotify`
 * (PostgreSQL, shared by the nodes of a cluster) both give `Notifications`: topics, inbox and webhook
 * subscriptions (and Web Push and email ones), the transactional outbox (`tx.publish` in a tables transaction), the dispatcher and the
 * inbox API; `sse.ts` streams inbox entries to HTTP clients.
 */
export type * from './types.ts';
export { openNotify, DEFAULT_RETRY, MAX_MESSAGE_BYTES, RETRY_LIMITS } from './notify.ts';
export { openPostgresNotify, publishToPostgresNotify, type PostgresNotify, type PostgresNotifyOptions } from './postgres.ts';
export { NOTIFY_POSTGRES_SCHEMA } from './postgres-schema.ts';
export { forwardingNotifications, type ForwardingOptions } from './forward.ts';
export { signWebhook, verifyWebhook, backoffDelayMs, type VerifyOptions } from './webhook.ts';
export { writeSse, formatSseEvent, inboxToSse, lastEventIdOf, type SseEvent, type SseOptions, type SseTarget } from './sse.ts';
export { loadOrCreateVapidKeys, readVapidKeys, encryptPushPayload, vapidAuthorization, MAX_PUSH_PAYLOAD_BYTES, type VapidKeys, type PushTarget } from './webpush.ts';
export { mailAddress, smtpSecurity, type SmtpSecurity, type SmtpTls } from './smtp.ts';
