import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * Policy and ledger writes are short database calls: local activities keep them in the
 * workflow task (no extra round trip through the task queue). They retry until Postgres is
 * back, so an outage delays an action but never loses or reorders its events.
 */
export const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});
