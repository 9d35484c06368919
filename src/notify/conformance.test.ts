import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openTables } from '../tables/index.ts';
import { describeNotifyConformance } from './conformance.ts';
import { openNotify } from './notify.ts';

describeNotifyConformance(
  'SQLite',
  async (options) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-notify-conformance-'));
    const tables = openTables({ path: path.join(dir, 'tables.db') });
    const notify = openNotify({ tables, ...options });
    return {
      notify,
      publishInTransaction: async (topic, message, publishOptions, thenFail) =>
        tables.transaction((tx) => {
          const result = tx.publish(topic, message, publishOptions);
          if (thenFail) throw new Error('the transaction fails after publishing');
          return result;
        }),
      async cleanup() {
        await notify.stop();
        tables.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { sharedByNodes: false },
);
