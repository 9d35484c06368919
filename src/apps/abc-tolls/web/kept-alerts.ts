/**
 * The alerts last shown, kept in localStorage so that an app opened offline shows them (with the time they are
 * from) rather than an empty list: only the server can say a customer has no alerts.
 */
import type { Notification } from './api.ts';

const KEY = 'tollstream.customer.alerts';

export interface KeptAlerts {
  readonly notifications: Notification[];
  readonly unread: number;
  /** When the server gave them, ms since the epoch. */
  readonly at: number;
}

export function keepAlerts(alerts: KeptAlerts): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(alerts));
  } catch {
    // Storage full or refused: the app works on, it just cannot show them offline.
  }
}

/** The kept alerts, or undefined when none were kept (or they are unreadable). */
export function keptAlerts(): KeptAlerts | undefined {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) ?? 'null') as KeptAlerts | null;
    return kept && Array.isArray(kept.notifications) && typeof kept.unread === 'number' && typeof kept.at === 'number' ? kept : undefined;
  } catch {
    return undefined;
  }
}

export function forgetAlerts(): void {
  localStorage.removeItem(KEY);
}
