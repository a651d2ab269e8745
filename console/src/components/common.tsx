import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, newKey, type ActionView } from '../api';
import { timeLeft, urgency, when, STATUS_LABEL } from '../format';
import { useNow } from '../hooks';

/** A live countdown to a deadline; the full time in its title and for screen readers. */
export function Countdown({ deadline }: { deadline: string | null | undefined }) {
  const now = useNow();
  const left = timeLeft(deadline, now);
  return (
    <time class={`countdown ${urgency(deadline, now)}`} dateTime={deadline ?? undefined} title={deadline ? `deadline ${when(deadline)}` : undefined}>
      <span aria-hidden="true">{left}</span>
      <span class="sr-only">{deadline ? (left === 'overdue' ? 'deadline passed' : `${left} left`) : 'no deadline'}</span>
    </time>
  );
}

/** A status as a small label. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

/** A problem from the API, in words. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.message}${error.problem.errors?.length ? `: ${error.problem.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` : ''}` : String((error as Error).message ?? error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A quiet "Loading…" shown only while a call is slow. */
export function Slow({ show, children = 'Loading…' }: { show: boolean; children?: ComponentChildren }) {
  return show ? (
    <p class="muted" role="status">
      {children}
    </p>
  ) : null;
}

/** Cast a decision; `digest` is the params digest the reviewer saw (a change since answers 409 stale-view). */
export function sendDecision(id: string, decision: 'approve' | 'deny', opts: { reason?: string; digest?: string; params?: Record<string, unknown> } = {}): Promise<ActionView> {
  return api<ActionView>(
    'POST',
    `/v1/actions/${encodeURIComponent(id)}/decisions`,
    {
      decision,
      ...(opts.reason ? { reason: opts.reason } : {}),
      ...(opts.digest ? { expectedDigest: opts.digest } : {}),
      ...(opts.params ? { params: opts.params } : {}),
    },
    { headers: { 'idempotency-key': newKey() } },
  );
}

/** What a refused decision means for the reviewer. */
export function decisionErrorText(err: unknown): string {
  if (!(err instanceof ApiError)) return String((err as Error)?.message ?? err);
  switch (err.code) {
    case 'not-pending':
      return 'This action is no longer waiting for a decision.';
    case 'stale-view':
      return 'The params changed since this page loaded. Reload and review them again.';
    case 'already-voted':
      return 'You have already voted on this action.';
    case 'self-approval':
      return 'You cannot approve an action you proposed or that acts on your behalf.';
    case 'not-eligible':
      return 'You are not in a group that may decide this action now.';
    case 'csrf':
      return 'Your session could not be confirmed (CSRF). Reload the page and try again.';
    default:
      return err.message;
  }
}

/**
 * The quick decision dialog (keyboard `a` / `d` in the inbox): approve asks to confirm; deny asks
 * for the reason it requires.
 */
export function DecideDialog({ action, decision, onClose, onDone }: { action: ActionView; decision: 'approve' | 'deny'; onClose: () => void; onDone: (view: ActionView) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (decision === 'deny' && !reason.trim()) {
      setError('Give a reason to deny: the agent sees it.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onDone(await sendDecision(action.id, decision, { reason: reason.trim() || undefined, digest: action.approval?.digest }));
    } catch (err) {
      setError(decisionErrorText(err));
      setBusy(false);
    }
  };
  const title = decision === 'approve' ? `Approve ${action.action}?` : `Deny ${action.action}`;
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="decide-title" onClose={onClose} onCancel={onClose}>
      <form onSubmit={submit} method="dialog">
        <h2 id="decide-title">{title}</h2>
        <p class="muted">
          Proposed by {action.agent}
          {action.onBehalfOf ? ` on behalf of ${action.onBehalfOf}` : ''}. <a href={`/console/actions/${action.id}`}>Review the details</a>
        </p>
        {decision === 'deny' ? (
          <>
            <label for="dialog-reason">Reason (required to deny)</label>
            <textarea id="dialog-reason" required aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'dialog-error' : undefined} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} autofocus rows={3} />
          </>
        ) : (
          <>
            <label for="dialog-reason">Reason (optional)</label>
            <textarea id="dialog-reason" value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} rows={2} />
          </>
        )}
        {error ? (
          <p id="dialog-error" class="error" role="alert">
            {error}
          </p>
        ) : null}
        <div class="buttons">
          <button type="submit" class={decision === 'approve' ? 'primary' : 'danger'} disabled={busy} autofocus={decision === 'approve'}>
            {decision === 'approve' ? 'Confirm' : 'Deny'}
          </button>
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The keyboard help (`?`). */
export function KeysDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="keys-title" onClose={onClose} onCancel={onClose}>
      <h2 id="keys-title">Keyboard shortcuts</h2>
      <dl class="keys">
        <dt>
          <kbd>j</kbd> / <kbd>k</kbd>
        </dt>
        <dd>Next / previous action in the inbox</dd>
        <dt>
          <kbd>Enter</kbd> or <kbd>o</kbd>
        </dt>
        <dd>Open the selected action</dd>
        <dt>
          <kbd>a</kbd>
        </dt>
        <dd>Approve (asks you to confirm)</dd>
        <dt>
          <kbd>d</kbd>
        </dt>
        <dd>Deny (asks for the reason)</dd>
        <dt>
          <kbd>?</kbd>
        </dt>
        <dd>Show this help</dd>
      </dl>
      <div class="buttons">
        <button type="button" onClick={() => ref.current?.close()} autofocus>
          Close
        </button>
      </div>
    </dialog>
  );
}
