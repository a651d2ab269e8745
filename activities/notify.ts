import { NOTIFY_FAILURES } from '../domain/failure-types';
import { ApplicationFailure } from '@temporalio/activity';
import { maskSensitive } from '../domain/sensitive-params';
import { sensitivePatternsFor } from '../ledger/sensitive-patterns';
import type { ActivityDeps } from './index';
import { signBody } from './http-executor';

/** What reviewers are told about. */
export type NotificationEvent = 'approval_requested' | 'reminded' | 'escalated' | 'expired' | 'outcome';

/** One notification, addressed to groups; each group's webhooks come from the policy bundle. */
export interface NotificationInput {
  event: NotificationEvent;
  actionId: string;
  action: string;
  agent: string;
  status: string;
  groups: string[];
  policyVersion: string;
  deadline: string | null;
  justification: string | null;
  /** The params as they stand; sensitive ones are sent as `"***"` (domain/sensitive-params.ts). */
  params: Record<string, unknown>;
  link: string;
}

/** The message posted to one webhook (Slack-compatible: `text` plus `blocks`). */
export function notificationMessage(n: NotificationInput): Record<string, unknown> {
  const title: Record<NotificationEvent, string> = {
    approval_requested: 'Approval requested',
    reminded: 'Reminder: approval still pending',
    escalated: 'Escalated: approval needs you',
    expired: 'Approval expired',
    outcome: `Action ${n.status}`,
  };
  const summary = (n.justification ? `${n.justification}\n` : '') + `params: ${JSON.stringify(n.params).slice(0, 500)}`;
  const text = `${title[n.event]}: ${n.action} by ${n.agent} (${n.actionId})${n.deadline ? ` — decide before ${n.deadline}` : ''}`;
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title[n.event] } },
      { type: 'section', text: { type: 'mrkdwn', text: `*${n.action}* proposed by *${n.agent}*\n${summary}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `status: ${n.status} · groups: ${n.groups.join(', ')}${n.deadline ? ` · deadline: ${n.deadline}` : ''} · <${n.link}|${n.actionId}>` }],
      },
    ],
    countersign: { event: n.event, actionId: n.actionId, action: n.action, agent: n.agent, status: n.status, groups: n.groups, deadline: n.deadline },
  };
}

/** Reviewer notifications. */
export function createNotificationActivities({ policies, executorSecret, publicUrl }: Pick<ActivityDeps, 'policies' | 'executorSecret' | 'publicUrl'>) {
  return {
    /** The webhook URLs of the groups, from the bundle the action was decided under. */
    async notificationTargets(input: { policyVersion: string; groups: string[] }): Promise<string[]> {
      const bundle = await policies.byVersion(input.policyVersion);
      const urls = input.groups.flatMap((g) => bundle.notifications.webhooks[g] ?? []);
      return [...new Set(urls)];
    },

    /**
     * POST one notification to one webhook, HMAC-signed like executor calls. 5xx and network
     * errors are retried by Temporal; 4xx is final. The workflow never waits on this for a decision.
     */
    async notifyWebhook(input: { url: string; notification: NotificationInput }): Promise<void> {
      // Webhooks leave the system: sensitive params go masked, as in every ActionView.
      const patterns = await sensitivePatternsFor(policies, input.notification.action, input.notification.policyVersion);
      const n = { ...input.notification, params: maskSensitive(input.notification.params, patterns) };
      const body = JSON.stringify(notificationMessage({ ...n, link: n.link.startsWith('/') && publicUrl ? publicUrl + n.link : n.link }));
      let res: Response;
      try {
        res = await fetch(input.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-countersign-signature': signBody(executorSecret, body),
            'x-countersign-event': input.notification.event,
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        throw ApplicationFailure.retryable(`webhook ${input.url} unreachable: ${(err as Error).message}`, 'WebhookUnavailable');
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      if (res.status >= 400 && res.status < 500) throw ApplicationFailure.nonRetryable(`webhook ${input.url} answered ${res.status}`, NOTIFY_FAILURES.webhookRejected);
      throw ApplicationFailure.retryable(`webhook ${input.url} answered ${res.status}`, 'WebhookUnavailable');
    },

  };
}
