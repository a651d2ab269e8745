/**
 * Governing the governors (docs/controls.md, "Governed policy changes"): when the active bundle has
 * rules for `countersign.policy.activate`, `PUT /v1/policy` does not activate the bundle; it
 * proposes the activation as a governed action (the requester is its proposing principal, so
 * separation of duties keeps the requester from approving it) and answers 202 with the ActionView.
 * The bundle is activated only once that action is approved.
 *
 * The action's executor is `agent`: once it is `approved`, an API process performs it (inserts
 * the activation) and reports the result to the workflow, signed like every Update. Every API
 * process sweeps for approved activations every few seconds and right after each decision it
 * records; a per-action advisory lock and a marker in `policy_activations.activated_by` make the
 * activation happen once however many processes see it.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { GOVERNED_ACTIONS } from '../domain/controls';
import type { MessageSigner } from '../runtime/message-keys';
import type { PrincipalChanges } from '../ledger/principal-repository';
import type { PrincipalStore } from './auth';
import type { Logger } from '../runtime/logger';
import { reportResultUpdate } from '../workflows';

/** Whether the active bundle governs role, group and delegation changes (has rules for countersign.principal.grant). */
export function governsGrants(bundle: { actions: ReadonlyMap<string, { rules: readonly unknown[] }> }): boolean {
  return (bundle.actions.get(GOVERNED_ACTIONS.principalGrant)?.rules.length ?? 0) > 0;
}

/** The params of a `countersign.principal.grant` action: what is granted, to whom. */
export interface GrantParams {
  principal: string;
  roles?: string[];
  groups?: string[];
  delegates?: string[];
  /** A principal created disabled under governance: enable it with the grant. */
  enable?: boolean;
}

/** Whether the active bundle governs policy activation (has rules for it). */
export function governsActivation(bundle: { actions: ReadonlyMap<string, { rules: readonly unknown[] }> }): boolean {
  return (bundle.actions.get(GOVERNED_ACTIONS.policyActivate)?.rules.length ?? 0) > 0;
}

/** `policy_activations.activated_by` of an activation made by governed action `id`. */
export const activatedByMarker = (requester: string, actionId: string) => `${requester} (approved as ${actionId})`;

/** An active pause covers actions row `a` (read from the table, so a pause made by any process counts at once). */
const PAUSED = `EXISTS (SELECT 1 FROM pauses p WHERE p.lifted_at IS NULL AND (p.agent IS NULL OR p.agent = a.agent) AND (p.action IS NULL OR p.action = a.action))`;

/** Whether a pause covers the action now (checked again under the action's lock, just before it takes effect). */
async function pausedNow(client: PoolClient, row: { id: string }): Promise<boolean> {
  const { rowCount } = await client.query(`SELECT 1 FROM actions a WHERE a.id = $1 AND ${PAUSED}`, [row.id]);
  return (rowCount ?? 0) > 0;
}

/** Performs approved governed activations; one per API process. */
export class PolicyGovernor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: { pool: Pool; temporal: Client; messages: MessageSigner; log: Logger; principals?: PrincipalStore },
    private readonly intervalMs = 2000,
  ) {}

  /** Sweep now (after a decision) and every {@link intervalMs}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Perform every approved activation not performed yet (coalesced). */
  kick(): void {
    if (this.running || (this.deps.pool as Pool & { ending?: boolean }).ending) return;
    this.running = this.sweep()
      .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'governed policy activations: sweep failed; retried shortly'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async sweep(): Promise<void> {
    const { rows } = await this.deps.pool.query<{ id: string; agent: string; action: string; workflow_id: string; params: Record<string, unknown> }>(
      // A pause that covers the action (its agent, its action name, or everything) holds it: it
      // is skipped until the pause is lifted, like any approved action (docs/controls.md).
      `SELECT id, agent, action, workflow_id, params FROM actions a
        WHERE status = 'approved' AND action = ANY ($1::text[]) AND NOT ${PAUSED}
        ORDER BY created_at LIMIT 20`,
      [[GOVERNED_ACTIONS.policyActivate, GOVERNED_ACTIONS.principalGrant]],
    );
    for (const row of rows) {
      if (row.action === GOVERNED_ACTIONS.principalGrant) await this.grant(row as typeof row & { params: GrantParams });
      else await this.perform(row as typeof row & { params: { version?: string } });
    }
  }

  /** Apply an approved grant (idempotent: it sets the roles, groups and delegates it names), then report. */
  private async grant(row: { id: string; agent: string; workflow_id: string; params: GrantParams }): Promise<void> {
    const { principals } = this.deps;
    if (!principals) return;
    const p = row.params;
    let output: unknown;
    let error: string | undefined;
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('countersign.governed:' || $1, 0))", [row.id]);
      if (await pausedNow(client, row)) {
        await client.query('ROLLBACK');
        return;
      }
      const requester = await principals.get(row.agent);
      const changes: PrincipalChanges = {
        ...(p.roles ? { roles: p.roles as PrincipalChanges['roles'] } : {}),
        ...(p.groups ? { groups: p.groups } : {}),
        ...(p.delegates ? { delegates: p.delegates } : {}),
        ...(p.enable ? { disabled: false } : {}),
      };
      try {
        if (!requester) throw new Error(`the requester ${row.agent} no longer exists`);
        const updated = await principals.update(p.principal, changes, requester);
        if (!updated) throw new Error(`no principal ${p.principal}`);
        output = { principal: updated.id, roles: updated.roles, groups: updated.groups, delegates: updated.delegates, disabled: updated.disabled ?? false };
      } catch (err) {
        error = (err as Error).message;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    await this.report(row, error === undefined, output ?? null, error ?? null);
  }

  private async report(row: { id: string; agent: string; workflow_id: string }, ok: boolean, output: unknown, error: string | null): Promise<void> {
    const updateId = `result:${row.agent}:${randomUUID()}`;
    const input = this.deps.messages.sign(row.workflow_id, { update: 'reportResult', id: updateId }, { by: row.agent, ok, output, error });
    try {
      await this.deps.temporal.workflow.getHandle(row.workflow_id).executeUpdate(reportResultUpdate, { args: [input], updateId });
    } catch (err) {
      this.deps.log.debug?.({ err: (err as Error).message, actionId: row.id }, 'governed action: result not taken');
    }
  }

  private async perform(row: { id: string; agent: string; workflow_id: string; params: { version?: string } }): Promise<void> {
    const version = row.params.version;
    const marker = activatedByMarker(row.agent, row.id);
    let output: { activated: string } | undefined;
    let error: string | undefined;
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('countersign.governed:' || $1, 0))", [row.id]);
      if (await pausedNow(client, row)) {
        await client.query('ROLLBACK');
        return;
      }
      const known = await client.query('SELECT 1 FROM policy_versions WHERE version = $1', [version ?? '']);
      if (known.rowCount === 0) {
        error = `policy version ${String(version)} is not stored`;
      } else {
        await client.query(
          `INSERT INTO policy_activations (version, activated_by)
           SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM policy_activations WHERE activated_by = $2)`,
          [version, marker],
        );
        output = { activated: version as string };
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    // Tell the workflow (it records `executed`, or `execution_failed`, and ends the action).
    const updateId = `result:${row.agent}:${randomUUID()}`;
    const input = this.deps.messages.sign(row.workflow_id, { update: 'reportResult', id: updateId }, { by: row.agent, ok: error === undefined, output: output ?? null, error: error ?? null });
    try {
      await this.deps.temporal.workflow.getHandle(row.workflow_id).executeUpdate(reportResultUpdate, { args: [input], updateId });
    } catch (err) {
      // Another process reported first: the action is no longer waiting. Anything else is retried at the next sweep.
      this.deps.log.debug?.({ err: (err as Error).message, actionId: row.id }, 'governed activation: result not taken');
    }
  }
}
