/**
 * `POST /v1/integrations/slack/interactions`: Slack calls it when someone clicks **Approve** or
 * **Deny** on an approval message (activities/slack.ts). It authenticates Slack, not a principal:
 * the request must carry a valid `X-Slack-Signature` (v0 HMAC-SHA256 of `v0:<timestamp>:<body>`
 * with the signing secret, timestamp within 5 minutes). The click decides only as the human
 * principal linked to the clicking Slack user (`slackUserId`), under the same eligibility and
 * separation-of-duties rules as every decision; anyone else gets an ephemeral explanation and
 * nothing is decided. Slack wants an answer within 3 s: the route acknowledges first, then
 * decides, then updates the message.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { holdsRole } from '../../domain/access-rules';
import type { ActionView } from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import { parseButtonValue, SLACK_ACTIONS, slackCall, slackMessage, slackMessagesOf, type SlackSettings } from '../../activities/slack';
import type { Logger } from '../../runtime/logger';
import type { ActionService } from '../action-service';
import type { PrincipalStore } from '../auth';

/** Requests older (or newer) than this are refused: a captured request cannot be replayed later. */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

/** The route's dependencies. */
export interface SlackRouteDeps {
  settings?: SlackSettings;
  principals: PrincipalStore;
  actions: ActionService;
  pool: Pool;
  /** For links in updated messages. */
  publicUrl: () => string;
  log: Logger;
  /** Bytes of the largest interaction body accepted. */
  maxBodyBytes: number;
}

/**
 * Whether `signature` is Slack's signature of `body` at `timestamp` (docs.slack.dev, "Verifying
 * requests from Slack"): `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`, compared in constant
 * time, the timestamp within {@link SLACK_MAX_AGE_SECONDS} of now.
 */
export function slackSignatureValid(secret: string, timestamp: string | undefined, body: Buffer, signature: string | undefined, nowSeconds = Date.now() / 1000): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) return false;
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The part of a `block_actions` payload the route reads. */
interface BlockActionsPayload {
  type: string;
  user?: { id?: string };
  team?: { id?: string };
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  message?: { ts?: string };
  actions?: { action_id?: string; value?: string; action_ts?: string }[];
}

export function slackRoutes(deps: SlackRouteDeps): Router {
  const r = Router();
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });

  r.post('/v1/integrations/slack/interactions', raw, (req: Request, res: Response) => {
    const secret = deps.settings?.signingSecret;
    if (!secret) throw new CountersignError('not-found', 'Slack interactions are not configured (COUNTERSIGN_SLACK_SIGNING_SECRET)');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!slackSignatureValid(secret, req.get('x-slack-request-timestamp'), body, req.get('x-slack-signature'))) {
      throw new CountersignError('unauthorized', 'X-Slack-Signature is missing, wrong, or its X-Slack-Request-Timestamp is more than 5 minutes off');
    }
    let payload: BlockActionsPayload;
    try {
      const form = new URLSearchParams(body.toString('utf8'));
      payload = JSON.parse(form.get('payload') ?? '') as BlockActionsPayload;
      if (!payload || typeof payload !== 'object') throw new Error('not an object');
    } catch {
      throw new CountersignError('validation', 'the body must be Slack\'s form with a JSON "payload"', [{ path: 'payload', message: 'missing or not JSON' }]);
    }
    // Acknowledge now (Slack retries after 3 s without an answer); decide and update after.
    res.status(200).end();
    if (payload.type !== 'block_actions') return;
    handleClick(deps, payload).catch((err) => deps.log.error({ err }, 'Slack interaction failed'));
  });
  return r;
}

/** Decide as the linked human, then tell Slack: an ephemeral note on refusal, an updated message on success. */
async function handleClick(deps: SlackRouteDeps, payload: BlockActionsPayload): Promise<void> {
  const settings = deps.settings!;
  const click = payload.actions?.[0];
  const userId = payload.user?.id;
  const channel = payload.container?.channel_id ?? payload.channel?.id;
  const decision = click?.action_id === SLACK_ACTIONS.approve ? 'approve' : click?.action_id === SLACK_ACTIONS.deny ? 'deny' : undefined;
  const button = typeof click?.value === 'string' ? parseButtonValue(click.value) : undefined;
  if (!click || !decision || !userId || !channel || !button) return;
  const { actionId, digest } = button;
  const explain = (text: string) =>
    slackCall(settings, 'chat.postEphemeral', { channel, user: userId, text }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'Slack ephemeral message not sent'));

  const principal = await deps.principals.findHumanBy('slackUserId', userId);
  if (!principal) {
    deps.log.warn({ slackUser: userId, actionId }, 'Slack click from a user linked to no principal: nothing decided');
    await explain('Your Slack account is not linked to a Countersign reviewer, so nothing was decided. Ask an admin to set your slackUserId, or decide in the console.');
    return;
  }
  if (!holdsRole(principal, 'reviewer')) {
    await explain(`${principal.id} is not a reviewer, so nothing was decided.`);
    return;
  }
  let view: ActionView;
  try {
    // One vote per click: a delivery Slack repeats maps to the same Update.
    const key = `slack-${(click.action_ts ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, 100) || actionId}`;
    // The params the message showed: if they were edited since, the click is refused (stale-view).
    const body = { decision, ...(decision === 'deny' ? { reason: 'denied in Slack' } : {}), ...(digest ? { expectedDigest: digest } : {}) } as const;
    const row = await deps.actions.decide(principal, actionId, body, key, {
      identity: { method: 'slack', ...(payload.team?.id ? { issuer: `slack:${payload.team.id}` } : {}), subject: userId },
      via: 'slack',
    });
    view = await deps.actions.toView(row);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    await explain(`Nothing was decided: ${err.message}`);
    return;
  }
  const votes = view.approval?.approvals ?? [];
  const note =
    view.status === 'awaiting_approval'
      ? `${decision === 'approve' ? 'Approved' : 'Denied'} by ${principal.id}; ${votes.length} vote(s) so far, more needed.`
      : `${decision === 'approve' ? 'Approved' : 'Denied'} by ${principal.id}: ${view.status}.`;
  const message = slackMessage({
    actionId,
    action: view.action,
    agent: view.agent,
    status: view.status,
    title: view.status === 'awaiting_approval' ? 'Approval requested' : `Action ${view.status}`,
    justification: null,
    params: view.params as Record<string, unknown>,
    deadline: null,
    link: `${deps.publicUrl().replace(/\/+$/, '')}/console/actions/${actionId}`,
    note,
    buttons: view.status === 'awaiting_approval',
    digest: view.approval?.digest,
  });
  for (const m of await slackMessagesOf(deps.pool, actionId)) {
    await slackCall(settings, 'chat.update', { channel: m.channelId, ts: m.ts, ...message }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'Slack message not updated'));
  }
}
