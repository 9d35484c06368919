/** Wording of months, days and notifications for the customer app. */
import { formatCents } from '../../../../web/src/lib/money.ts';
import type { Notification } from './api.ts';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `2026-11` -> `November 2026`. */
export function monthName(month: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  const name = m ? MONTHS[Number(m[2]) - 1] : undefined;
  return m && name ? `${name} ${m[1]}` : month;
}

export function notificationText(n: Notification, currency: string): string {
  const m = n.message;
  if (m.type === 'threshold_breach' && typeof m.threshold_cents === 'number') {
    const month = m.month ? monthName(m.month) : 'this month';
    const spent = typeof m.total_cents === 'number' ? ` You have spent ${formatCents(m.total_cents, currency)} so far.` : '';
    return `Your spending for ${month} passed your ${formatCents(m.threshold_cents, currency)} alert threshold.${spent}`;
  }
  return `Notification: ${m.type}`;
}

export function when(value: number | string): string {
  const t = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(t)) return String(value);
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
