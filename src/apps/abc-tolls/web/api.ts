/** The customer API as the app uses it (docs: /work contract "customer API"; money is integer cents). */
import { requestJson } from '../../../../web/src/lib/api.ts';

export interface Me {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string;
  readonly time_zone: string;
  readonly threshold_cents: number | null;
  /** False once the customer stopped alert emails. */
  readonly email_alerts: boolean;
  /** False when this server sends no alert emails (email not set up), whatever `email_alerts` says. */
  readonly email_alerts_available: boolean;
  readonly currency: string;
}

export interface Spend {
  readonly month: string;
  readonly total_cents: number;
  readonly threshold_cents: number | null;
  readonly currency: string;
  readonly days: ReadonlyArray<{ readonly date: string; readonly total_cents: number }>;
}

export interface BreachMessage {
  readonly type: string;
  readonly customer_id?: string;
  readonly month?: string;
  readonly threshold_cents?: number;
  readonly total_cents?: number;
  readonly breached_at?: string | number;
}

export interface Notification {
  readonly id: number;
  readonly created_at: number | string;
  read: boolean;
  readonly message: BreachMessage;
}

export interface Trip {
  readonly transaction_id: string;
  readonly plaza_id: string;
  readonly event_time: string;
  readonly vehicle_class: number;
  readonly amount_cents: number;
  readonly currency: string;
}

/** A page of a month's tolls, newest first; `total_cents` and `transactions` are the whole month's. */
export interface TripPage {
  readonly month: string;
  readonly time_zone: string;
  readonly total_cents: number;
  readonly transactions: number;
  readonly trips: readonly Trip[];
  readonly cursor?: string;
  readonly as_of: string | null;
  readonly currency: string;
}

/** What `PushSubscription.toJSON()` gives. */
export interface PushSubscriptionJson {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export interface ThresholdAnswer {
  readonly threshold_cents: number | null;
  readonly month: string;
  readonly total_cents: number;
  readonly breached: boolean;
}

export function customerApi(token: string) {
  return {
    me: () => requestJson<Me>('/v1/me', { token }),
    spend: () => requestJson<Spend>('/v1/me/spend', { token }),
    setEmailAlerts: (enabled: boolean) => requestJson<Me>('/v1/me/email-alerts', { token, method: 'PUT', body: { enabled } }),
    setThreshold: (cents: number | null) => requestJson<ThresholdAnswer>('/v1/me/threshold', { token, method: 'PUT', body: { threshold_cents: cents } }),
    notifications: (after?: number, limit = 200) =>
      requestJson<{ notifications: Notification[]; unread: number }>(`/v1/me/notifications?limit=${limit}${after === undefined ? '' : `&after=${after}`}`, { token }),
    trips: (month: string, cursor?: string, limit = 25) =>
      requestJson<TripPage>(`/v1/me/trips?month=${encodeURIComponent(month)}&limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { token }),
    pushKey: () => requestJson<{ application_server_key: string }>('/v1/me/push', { token }),
    pushSubscribe: (subscription: PushSubscriptionJson) => requestJson<{ subscription_id: number }>('/v1/me/push/subscriptions', { token, method: 'POST', body: subscription }),
    pushUnsubscribe: (endpoint: string) => requestJson<void>('/v1/me/push/subscriptions', { token, method: 'DELETE', body: { endpoint } }),
    markRead: (ids: readonly number[]) => requestJson<{ unread: number }>('/v1/me/notifications/read', { token, method: 'POST', body: { ids } }),
    streamUrl: (lastEventId: number | undefined) =>
      `/v1/me/notifications/stream?access_token=${encodeURIComponent(token)}${lastEventId === undefined ? '' : `&lastEventId=${lastEventId}`}`,
  };
}

export type CustomerApi = ReturnType<typeof customerApi>;
