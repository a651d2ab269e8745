/**
 * Slack approvals (docs/slack.md): an approval request is posted to each eligible group's channel
 * (`notifications.slack.<group>.channel` in the bundle) with **Approve** / **Deny** buttons;
 * reminders, escalations and the outcome update that message (chat.update). Clicks come back to
 * the API (api/routes/slack.ts), which decides as the linked human and updates the message too.
 *
 * Slack's Web API is reached at `COUNTERSIGN_SLACK_API_URL` (default https://slack.com/api) with
 * the bot token; where each action's message was posted is kept in `slack_messages`.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { NOTIFY_FAILURES } from '../domain/failure-types';
import type { NotificationEvent, NotificationInput } from './notify';

/** The Slack settings a process needs to post (worker) or answer clicks (API). */
export interface SlackSettings {
  /** `COUNTERSIGN_SLACK_BOT_TOKEN` (xoxb-…): posts and updates messages. */
  botToken?: string;
  /** `COUNTERSIGN_SLACK_SIGNING_SECRET`: verifies interaction callbacks. */
  signingSecret?: string;
  /** `COUNTERSIGN_SLACK_API_URL`, without a trailing slash. @default https://slack.com/api */
  apiUrl: string;
}

/** Targets in notificationTargets' list that are Slack channels, not webhook URLs. */
export const SLACK_TARGET_PREFIX = 'slack:';

/** The buttons' action ids: what a click means. */
export const SLACK_ACTIONS = { approve: 'countersign_approve', deny: 'countersign_deny' } as const;

/** How long one Web API call may take. */
const SLACK_TIMEOUT_MS = 10_000;

/** Slack answered `ok: false` with an error that will not go away by retrying. */
export class SlackApiError extends Error {
  override name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly error: string,
    readonly retryable: boolean,
  ) {
    super(`Slack ${method} failed: ${error}`);
  }
}

/** Slack's errors worth retrying (docs.slack.dev: rate limits and server trouble). */
const RETRYABLE_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * Call a Slack Web API method with the bot token (JSON body).
 * @throws SlackApiError on `ok: false`, a non-JSON answer, or the network (retryable when it may pass)
 */
export async function slackCall(settings: SlackSettings, method: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  if (!settings.botToken) throw new SlackApiError(method, 'COUNTERSIGN_SLACK_BOT_TOKEN is not set', false);
  let res: Response;
  try {
    res = await fetch(`${settings.apiUrl}/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${settings.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SLACK_TIMEOUT_MS),
      redirect: 'manual',
    });
  } catch (err) {
    throw new SlackApiError(method, `unreachable (${(err as Error).message})`, true);
  }
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel().catch(() => {});
    throw new SlackApiError(method, `HTTP ${res.status}`, true);
  }
  let answer: Record<string, any>;
  try {
    answer = (await res.json()) as Record<string, any>;
  } catch {
    throw new SlackApiError(method, `HTTP ${res.status} without a JSON answer`, false);
  }
  if (answer?.ok !== true) {
    const error = typeof answer?.error === 'string' ? answer.error : 'unknown_error';
    throw new SlackApiError(method, error, RETRYABLE_ERRORS.has(error));
  }
  return answer;
}

const TITLES: Record<NotificationEvent, string> = {
  approval_requested: 'Approval requested',
  reminded: 'Reminder: approval still pending',
  escalated: 'Escalated: approval needs you',
  expired: 'Approval expired',
  outcome: 'Action',
};

/** Slack mrkdwn escaping (&, <, >). */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What a Slack message shows about an action. */
export interface SlackMessageContent {
  actionId: string;
  action: string;
  agent: string;
  status: string;
  title: string;
  justification: string | null;
  /** Sensitive values already masked. */
  params: Record<string, unknown>;
  deadline: string | null;
  link: string;
  /** A line about what happened (who decided, the outcome). */
  note?: string;
  /** Whether the Approve / Deny buttons are shown (only while a decision is possible). */
  buttons: boolean;
  /**
   * The digest of the params shown (`approval.digest`): a click carries it, and is refused
   * (`stale-view`) when the params changed since the message was written.
   */
  digest?: string | null;
}

/** What a button carries: the action, and the digest of the params the message shows. */
export function buttonValue(actionId: string, digest: string | null | undefined): string {
  return digest ? JSON.stringify({ actionId, digest }) : actionId;
}

/** The action id and params digest a button carried (a bare action id from older messages). */
export function parseButtonValue(value: string): { actionId: string; digest?: string } | undefined {
  if (!value.startsWith('{')) return { actionId: value };
  try {
    const v = JSON.parse(value) as { actionId?: unknown; digest?: unknown };
    if (typeof v.actionId !== 'string') return undefined;
    return { actionId: v.actionId, ...(typeof v.digest === 'string' ? { digest: v.digest } : {}) };
  } catch {
    return undefined;
  }
}

/** The message: a header, the action, its params, a context line, and the buttons while pending. */
export function slackMessage(c: SlackMessageContent): { text: string; blocks: Record<string, unknown>[] } {
  const params = JSON.stringify(c.params);
  const summary = `${c.justification ? `${esc(c.justification)}\n` : ''}\`${esc(params.length > 500 ? `${params.slice(0, 500)}…` : params)}\``;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: c.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: `*${esc(c.action)}* proposed by *${esc(c.agent)}*\n${summary}` } },
    ...(c.note ? [{ type: 'section', text: { type: 'mrkdwn', text: esc(c.note) } }] : []),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `status: ${esc(c.status)}${c.deadline ? ` · decide before ${esc(c.deadline)}` : ''} · <${c.link}|open in Countersign>` }],
    },
  ];
  if (c.buttons) {
    blocks.push({
      type: 'actions',
      block_id: 'countersign_decision',
      elements: [
        { type: 'button', action_id: SLACK_ACTIONS.approve, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: buttonValue(c.actionId, c.digest) },
        { type: 'button', action_id: SLACK_ACTIONS.deny, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: buttonValue(c.actionId, c.digest) },
      ],
    });
  }
  return { text: `${c.title}: ${c.action} by ${c.agent} (${c.actionId})${c.note ? ` — ${c.note}` : ''}`, blocks };
}

/** Events while the action can still be decided: their messages carry the buttons. */
const PENDING_EVENTS: ReadonlySet<NotificationEvent> = new Set(['approval_requested', 'reminded', 'escalated']);

/** The message for a workflow notification (the link already absolute, params masked). */
export function slackNotificationMessage(n: NotificationInput, digest?: string | null): { text: string; blocks: Record<string, unknown>[] } {
  const pending = PENDING_EVENTS.has(n.event);
  return slackMessage({
    actionId: n.actionId,
    action: n.action,
    agent: n.agent,
    status: n.status,
    title: n.event === 'outcome' ? `Action ${n.status}` : TITLES[n.event],
    justification: n.justification,
    params: n.params,
    deadline: pending ? n.deadline : null,
    link: n.link,
    buttons: pending,
    digest,
  });
}

/** Where an action's messages were posted. */
export async function slackMessagesOf(pool: Pool, actionId: string): Promise<{ channel: string; channelId: string; ts: string }[]> {
  const { rows } = await pool.query<{ channel: string; channel_id: string; ts: string }>('SELECT channel, channel_id, ts FROM slack_messages WHERE action_id = $1', [actionId]);
  return rows.map((r) => ({ channel: r.channel, channelId: r.channel_id, ts: r.ts }));
}

/**
 * Post the notification to `channel`, or update the message already there: an approval request
 * (and a reminder or escalation to a channel without one yet) posts; every later event updates.
 * An outcome for a channel that never got a message posts nothing.
 * @throws ApplicationFailure retryable (`SlackUnavailable`) or final (`WebhookRejected`)
 */
export async function deliverSlackNotification(pool: Pool, settings: SlackSettings, channel: string, n: NotificationInput): Promise<void> {
  try {
    // The buttons carry the digest of the params as they stand now (the workflow wrote the view
    // before notifying): a click on a message whose params have since been edited is refused.
    const { rows } = await pool.query<{ digest: string | null }>("SELECT approval->>'digest' AS digest FROM actions WHERE id = $1", [n.actionId]);
    const message = slackNotificationMessage(n, rows[0]?.digest);
    const existing = (await slackMessagesOf(pool, n.actionId)).find((m) => m.channel === channel);
    if (existing) {
      await slackCall(settings, 'chat.update', { channel: existing.channelId, ts: existing.ts, ...message });
      return;
    }
    if (!PENDING_EVENTS.has(n.event)) return;
    const posted = await slackCall(settings, 'chat.postMessage', { channel, ...message });
    await pool.query('INSERT INTO slack_messages (action_id, channel, channel_id, ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      n.actionId,
      channel,
      String(posted.channel ?? channel),
      String(posted.ts),
    ]);
  } catch (err) {
    if (!(err instanceof SlackApiError)) throw err;
    if (err.retryable) throw ApplicationFailure.retryable(err.message, 'SlackUnavailable');
    throw ApplicationFailure.nonRetryable(err.message, NOTIFY_FAILURES.webhookRejected);
  }
}
