/**
 * The words of a spending alert where the app cannot draw it: the Web Push notification and the email. They say
 * what the app says of the same alert (src/apps/abc-tolls/web/format.ts).
 */
import type { JsonObject } from '../../../tables/index.ts';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export interface AlertText {
  readonly title: string;
  readonly text: string;
}

/** `topic`'s message in words; a message that is not a threshold breach gets a plain description. */
export function alertText(currency: string): (topic: string, message: JsonObject) => AlertText {
  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const cents = (value: unknown) => (typeof value === 'number' ? money.format(value / 100) : undefined);
  return (topic, message) => {
    if (message.type !== 'threshold_breach') return { title: 'ABC Tolls notification', text: `A notification on ${topic}: ${JSON.stringify(message)}` };
    const m = typeof message.month === 'string' ? /^(\d{4})-(\d{2})$/.exec(message.month) : null;
    const month = m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : 'this month';
    const threshold = cents(message.threshold_cents);
    const total = cents(message.total_cents);
    return {
      title: `ABC Tolls: your ${month} spending passed ${threshold ?? 'your threshold'}`,
      text:
        `Your toll spending for ${month} passed your ${threshold ?? ''} alert threshold.`.replace('  ', ' ') +
        (total ? ` You have spent ${total} so far.` : '') +
        '\n\nYou get this message once per month and threshold. Change the threshold in the ABC Tolls app.',
    };
  };
}
