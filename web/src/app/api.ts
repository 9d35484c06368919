/** The customer API as the app uses it (docs: /work contract "customer API"; money is integer cents). */
import { requestJson } from '../lib/api.ts';

export interface Me {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string;
  readonly time_zone: string;
  readonly threshold_cents: number | null;
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
    setThreshold: (cents: number | null) => requestJson<ThresholdAnswer>('/v1/me/threshold', { token, method: 'PUT', body: { threshold_cents: cents } }),
    notifications: (after?: number, limit = 200) =>
      requestJson<{ notifications: Notification[]; unread: number }>(`/v1/me/notifications?limit=${limit}${after === undefined ? '' : `&after=${after}`}`, { token }),
    markRead: (ids: readonly number[]) => requestJson<{ unread: number }>('/v1/me/notifications/read', { token, method: 'POST', body: { ids } }),
    streamUrl: (lastEventId: number | undefined) =>
      `/v1/me/notifications/stream?access_token=${encodeURIComponent(token)}${lastEventId === undefined ? '' : `&lastEventId=${lastEventId}`}`,
  };
}

export type CustomerApi = ReturnType<typeof customerApi>;
