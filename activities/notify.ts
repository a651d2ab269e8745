import { NOTIFY_FAILURES } from '../domain/failure-types';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { maskSensitive } from '../domain/sensitive-params';
import { NoActivePolicyError } from '../ledger/policy-store';
import { sensitivePatternsFor } from '../ledger/sensitive-patterns';
import type { ActivityDeps } from './index';
import { signBody } from './http-executor';
import { DEFAULT_FETCH_MAX_BYTES, discardBody, isRedirect, NO_REDIRECTS, readBoundedBody } from './outbound-fetch';
import { signatureHeader, targetSecretOrRetry } from './request-signing';
import { deliverSlackNotification, SLACK_TARGET_PREFIX } from './slack';

/** How long one webhook POST may take, its answer included. */
const WEBHOOK_TIMEOUT_MS = 10_000;

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
export function createNotificationActivities({
  pool,
  slack,
  policies,
  executorSecret,
  publicUrl,
  fetchMaxBytes = DEFAULT_FETCH_MAX_BYTES,
  webhookTimeoutMs = WEBHOOK_TIMEOUT_MS,
  secretEnv = process.env,
}: Pick<ActivityDeps, 'policies' | 'executorSecret' | 'publicUrl' | 'fetchMaxBytes' | 'secretEnv'> &
  Partial<Pick<ActivityDeps, 'pool' | 'slack'>> & {
  /** How long one webhook POST may take, its answer included (tests shorten it). @default 10000 */
  webhookTimeoutMs?: number;
}) {
  /** The webhook's own secret (`secret: env:NAME` in that bundle), or undefined for the legacy signature. */
  async function webhookSecret(policyVersion: string, url: string): Promise<string | undefined> {
    let ref: string | undefined;
    try {
      ref = (await policies.byVersion(policyVersion)).notifications.webhookSecrets?.[url];
    } catch (err) {
      if (!(err instanceof NoActivePolicyError)) throw err;
    }
    return ref ? targetSecretOrRetry(ref, secretEnv, url, 'WebhookUnavailable') : undefined;
  }

  return {
    /**
     * The webhook URLs of the groups, from the bundle the action was decided under, and their
     * Slack channels as `slack:<channel>` when this worker has a Slack bot token (docs/slack.md).
     */
    async notificationTargets(input: { policyVersion: string; groups: string[] }): Promise<string[]> {
      const bundle = await policies.byVersion(input.policyVersion);
      const urls = input.groups.flatMap((g) => bundle.notifications.webhooks[g] ?? []);
      const channels = slack?.botToken ? input.groups.flatMap((g) => (bundle.notifications.slack?.[g] ? [SLACK_TARGET_PREFIX + bundle.notifications.slack[g].channel] : [])) : [];
      return [...new Set([...urls, ...channels])];
    },

    /**
     * POST one notification to one webhook, HMAC-signed like executor calls. 5xx and network
     * errors are retried by Temporal; 4xx is final, and so is a redirect (3xx), which is never
     * followed. The answer's body is not used: at most `fetchMaxBytes` of it are read. The
     * workflow never waits on this for a decision.
     */
    async notifyWebhook(input: { url: string; notification: NotificationInput }): Promise<void> {
      // Webhooks leave the system: sensitive params go masked, as in every ActionView.
      const patterns = await sensitivePatternsFor(policies, input.notification.action, input.notification.policyVersion);
      const n = { ...input.notification, params: maskSensitive(input.notification.params, patterns) };
      // Links open the console's action page (the reviewer signs in there).
      const link = publicUrl ? `${publicUrl.replace(/\/+$/, '')}/console/actions/${n.actionId}` : n.link;
      if (input.url.startsWith(SLACK_TARGET_PREFIX)) {
        if (!slack || !pool) throw ApplicationFailure.nonRetryable('Slack is not configured on this worker (COUNTERSIGN_SLACK_BOT_TOKEN)', NOTIFY_FAILURES.webhookRejected);
        return deliverSlackNotification(pool, slack, input.url.slice(SLACK_TARGET_PREFIX.length), { ...n, link });
      }
      const body = JSON.stringify(notificationMessage({ ...n, link }));
      // The same on every retry of this notification, and another for the next one (a reminder).
      const idempotencyKey = `${n.actionId}:${n.event}:${Context.current().info.activityId}`;
      const secret = await webhookSecret(n.policyVersion, input.url);
      let res: Response;
      try {
        res = await fetch(input.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
            'x-countersign-signature': secret ? signatureHeader(secret, { url: input.url, idempotencyKey, body }) : signBody(executorSecret, body),
            'x-countersign-event': input.notification.event,
          },
          body,
          // Covers the answer's body too.
          signal: AbortSignal.timeout(webhookTimeoutMs),
          ...NO_REDIRECTS,
        });
      } catch (err) {
        throw ApplicationFailure.retryable(`webhook ${input.url} unreachable: ${(err as Error).message}`, 'WebhookUnavailable');
      }
      if (isRedirect(res.status)) {
        const location = res.headers.get('location');
        await discardBody(res);
        throw ApplicationFailure.nonRetryable(
          `webhook ${input.url} answered ${res.status} (a redirect${location ? ` to ${location.slice(0, 200)}` : ''}): redirects are not followed; set the webhook URL in the policy bundle to the address that answers`,
          NOTIFY_FAILURES.webhookRejected,
        );
      }
      // Read (and drop) a bounded part of the body, so a well-behaved receiver's connection can be reused.
      await readBoundedBody(res, fetchMaxBytes).catch(() => undefined);
      if (res.ok) return;
      if (res.status >= 400 && res.status < 500) throw ApplicationFailure.nonRetryable(`webhook ${input.url} answered ${res.status}`, NOTIFY_FAILURES.webhookRejected);
      throw ApplicationFailure.retryable(`webhook ${input.url} answered ${res.status}`, 'WebhookUnavailable');
    },

  };
}
