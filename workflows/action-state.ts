/**
 * The state of one governedAction run: its read model (the projection), the messages it has
 * been sent, and the ledger batching that writes every state change with the projection as
 * it was. The steps (policy, approval, execution, outcome) read and change it; only this
 * class writes to the ledger and the search attributes.
 */
import { ApplicationFailure, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  LEDGER_GENESIS_HASH,
  type ActionProjection,
  type ActionStatus,
  type Actor,
  type CancelInput,
  type EvidenceEventType,
  type GovernedActionInput,
  type RecordEventInput,
  type ResultInput,
} from '../domain/action-types';
import { WRITE_FAILURES } from '../domain/failure-types';
import type { ApprovalPlan, WorkflowPolicyDecision } from '../domain/policy-types';
import { failureOf } from './failures';
import { local } from './local-activities';
import { leaner } from './patches';
import { searchAttributeKeys } from './search-attribute-keys';

/** The actor of what Countersign does by itself (requests, reminders, escalations, execution). */
export const SYSTEM: Actor = { id: 'countersign', kind: 'system' };

/** Workflow time as ISO-8601 (deterministic: the SDK's clock). */
export const nowIso = (): string => new Date().toISOString();

/** One governed action's state, from proposal to outcome. */
export class ActionState {
  /** The read model, written to Postgres with every ledger event. */
  readonly view: ActionProjection;
  /** The policy's answer (set by the policy step, before any handler can use it). */
  decision!: WorkflowPolicyDecision;
  plan: ApprovalPlan | undefined;
  cancelRequest: CancelInput | undefined;
  report: ResultInput | undefined;
  /** Decide Updates still writing their vote: the approval step waits for them. */
  decisionsInFlight = 0;
  /** Set once the final status is in Postgres: cancel/result handlers answer only then. */
  settled = false;
  /** `execution_started` is recorded (by the decisive approval since the v3 patch, else by the executor). */
  executionAnnounced = false;
  /**
   * Set once a ledger write failed for good (a non-retryable recordEvents failure): nothing more
   * is written (a later batch could not link to the missing one), nothing more is done, and the
   * workflow fails with it. Never set on a normal path, so it adds no command there.
   */
  writeFault: unknown;
  /** Notifications under way: the workflow waits for them before it completes. */
  readonly notifications: Promise<unknown>[] = [];
  /**
   * Digest of the params as they stand (set once policy asks for approval, and by each edit;
   * trust model only): what an approval approves and `expectedDigest` is compared with.
   */
  digest: string | undefined;
  /** An edit is being re-planned: other decisions wait (`not-ready`, which the API retries). */
  replanning = false;
  /** Set by an edit: the approval starts over from step 1 with this plan. */
  replan: ApprovalPlan | undefined;
  /** Approvals before this index (in `view.approval.approvals`) were cast before the last edit: they no longer count. */
  countFrom = 0;
  /**
   * The groups eligible for each requirement of the step being waited for (its own group, plus
   * the groups it escalated to): an approval counts toward the requirements whose groups hold
   * the reviewer.
   */
  requirementGroups: string[][] = [];

  private readonly workflowId: string;
  private readonly runId: string;
  private seq = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private pending: RecordEventInput[] = [];
  /** Hash of the last event written: the next batch links to it in one statement. */
  private head = LEDGER_GENESIS_HASH;
  /** The search attribute values last upserted. */
  private upserted = '';

  constructor(readonly input: GovernedActionInput) {
    const { workflowId, runId } = workflowInfo();
    this.workflowId = workflowId;
    this.runId = runId;
    this.view = {
      status: 'evaluating',
      params: input.params,
      policy: null,
      approval: null,
      outcome: null,
      result: null,
      error: null,
      executor: null,
      eligibleGroups: [],
      voters: [],
      deadline: null,
    };
  }

  /**
   * Queue a ledger event with the projection as it is now. Events reach Postgres in batches
   * (one local activity, one transaction) at {@link flush}: before every wait and at the end.
   */
  record(type: EvidenceEventType, actor: Actor, data: Record<string, unknown>): void {
    const { input, workflowId, runId } = this;
    this.pending.push({ actionId: input.actionId, action: input.action, seq: ++this.seq, type, actor, at: nowIso(), data, view: this.snapshot(), workflowId, runId });
  }

  /**
   * Write the queued events. Flushes are chained, so the ledger gets them in seq order. After a
   * write failed for good ({@link writeFault}) every flush fails with that failure, unwritten.
   */
  flush(): Promise<unknown> {
    if (this.writeFault) return Promise.reject(this.writeFault);
    if (this.pending.length === 0) return this.writes;
    const batch = this.pending;
    this.pending = [];
    const write = this.writes
      .then(() => {
        if (this.writeFault) throw this.writeFault;
        return local.recordEvents(batch, this.head);
      })
      .then(
        (written) => {
          this.head = written.hashes[written.hashes.length - 1] ?? this.head;
        },
        (err) => {
          throw this.writeFailed(err);
        },
      );
    this.writes = write.catch(() => undefined);
    return write;
  }

  /**
   * A failed write: one the recorder gave up on (non-retryable) becomes {@link writeFault}. A
   * permanent refusal by Postgres is rethrown as the workflow's own non-retryable
   * {@link WRITE_FAILURES.permanent} (the recorder has already failed the read model and
   * recorded the fault); anything else (LedgerConflict) stays as it is.
   */
  private writeFailed(err: unknown): unknown {
    if (this.writeFault) return this.writeFault;
    const failure = failureOf(err);
    if (failure?.type === WRITE_FAILURES.permanent) {
      this.writeFault = ApplicationFailure.create({ type: WRITE_FAILURES.permanent, message: failure.message, nonRetryable: true, details: failure.details ?? undefined });
    } else if (failure?.nonRetryable) {
      this.writeFault = err;
    } else {
      return err;
    }
    return this.writeFault;
  }

  /** A deep copy of the projection as it is now. */
  snapshot(): ActionProjection {
    // Activities serialize their input when scheduled, but copy anyway: later mutations
    // must never leak into an event that is still queued behind another write.
    return JSON.parse(JSON.stringify(this.view)) as ActionProjection;
  }

  /** Set the status, and the search attributes operators filter on. */
  setStatus(status: ActionStatus): void {
    const { view } = this;
    view.status = status;
    const waiting = status === 'awaiting_approval';
    const pairs: SearchAttributeUpdatePair[] = [
      { key: searchAttributeKeys.status, value: status },
      { key: searchAttributeKeys.waitingGroups, value: waiting ? [...view.eligibleGroups] : [] },
      { key: searchAttributeKeys.deadline, value: waiting && view.deadline ? new Date(view.deadline) : null },
    ];
    // The same values again (e.g. 'executing' set by the last approval, then by the executor) cost
    // a command and a visibility write for nothing; histories from before the patch have them.
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (key === this.upserted && leaner()) return;
    this.upserted = key;
    upsertSearchAttributes(pairs);
  }

  /** Nobody may decide any more (the action left `awaiting_approval`). */
  clearWaiting(): void {
    const { view } = this;
    view.eligibleGroups = [];
    view.deadline = null;
    if (view.approval) view.approval.eligibleGroups = [];
  }
}
