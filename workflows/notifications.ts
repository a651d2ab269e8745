import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotificationEvent, NotificationInput } from '../activities/notify';
import { NOTIFY_FAILURES } from '../domain/failure-types';
import type { ActionState } from './action-state';
import { local } from './local-activities';

// Notifications must never hold up or fail an approval: bounded retries, errors swallowed.
const notifier = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '15m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8, nonRetryableErrorTypes: [NOTIFY_FAILURES.webhookRejected] },
});

/**
 * Tell the groups' webhooks (from the bundle) without waiting: a dead webhook never blocks a
 * decision. The workflow waits for {@link ActionState.notifications} only before it completes.
 */
export function notify(run: ActionState, event: NotificationEvent, groups: string[]): void {
  const { decision, input, view } = run;
  const known = decision.webhookGroups;
  const withWebhooks = known ? groups.filter((g) => known.includes(g)) : groups;
  if (withWebhooks.length === 0) return;
  const notification: NotificationInput = {
    event,
    actionId: input.actionId,
    action: input.action,
    agent: input.agent,
    status: view.status,
    groups,
    policyVersion: decision.version,
    deadline: view.deadline,
    justification: input.justification,
    params: view.params,
    link: `/v1/actions/${input.actionId}`,
  };
  const sent = local
    .notificationTargets({ policyVersion: decision.version, groups: withWebhooks })
    .then((urls) => Promise.all(urls.map((url) => notifier.notifyWebhook({ url, notification }).catch(() => undefined))))
    .catch(() => undefined);
  run.notifications.push(sent);
}
