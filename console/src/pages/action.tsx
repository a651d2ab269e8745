/**
 * One action, for review: what is asked (params, masked where sensitive), why (justification,
 * model, policy), who decides (the plan and every vote), what happened (the evidence timeline),
 * where it came from (lineage), and the decision itself.
 */
import { useRef, useState } from 'preact/hooks';
import { api, type ActionReview, type ActionView, type Lineage, type LineageNode } from '../api';
import { Countdown, decisionErrorText, ErrorNote, sendDecision, Slow, StatusBadge } from '../components/common';
import { EditForm } from '../components/edit-form';
import { duration, MASK, STATUS_LABEL, short, when } from '../format';
import { useKeys, useLoad, useSlow } from '../hooks';
import { href } from '../router';

export function ActionPage({ id }: { id: string }) {
  const review = useLoad((signal) => api<ActionReview>('GET', `/v1/actions/${encodeURIComponent(id)}/review`, undefined, { signal }), [id]);
  const lineage = useLoad((signal) => api<Lineage>('GET', `/v1/actions/${encodeURIComponent(id)}/lineage`, undefined, { signal }), [id]);
  const slow = useSlow(review.pending && !review.data);
  const r = review.data;
  if (!r) {
    return (
      <section>
        <h1>Action {id}</h1>
        <Slow show={slow} />
        <ErrorNote error={review.error} />
      </section>
    );
  }
  const a = r.action;
  return (
    <article aria-labelledby="action-title" class="action-page">
      <p class="crumbs">
        <a href={href('/')}>← Inbox</a>
      </p>
      <header class="page-head">
        <h1 id="action-title">{a.action}</h1>
        <div class="head-side">
          <StatusBadge status={a.status} />
          {a.status === 'awaiting_approval' && a.approval ? <Countdown deadline={a.approval.deadline} /> : null}
        </div>
      </header>
      <p class="muted mono">{a.id}</p>
      <ErrorNote error={review.error} />

      <div class="columns">
        <div class="main-col">
          <section aria-labelledby="request-title" class="card">
            <h2 id="request-title">Request</h2>
            <dl class="facts">
              <dt>Agent</dt>
              <dd>{a.agent}</dd>
              <dt>On behalf of</dt>
              <dd>{a.onBehalfOf ?? '—'}</dd>
              <dt>Proposed</dt>
              <dd>{when(a.createdAt)}</dd>
              {a.resource ? (
                <>
                  <dt>Resource</dt>
                  <dd class="mono">{short(a.resource, 200)}</dd>
                </>
              ) : null}
            </dl>
            <h3>Justification</h3>
            <p class="justification">{a.justification ?? <span class="muted">None given.</span>}</p>
            <h3>Params</h3>
            <ParamsTable params={a.params} />
          </section>

          <Decide review={r} onDecided={() => review.reload()} />

          <section aria-labelledby="timeline-title" class="card">
            <h2 id="timeline-title">Evidence timeline</h2>
            {r.timeline.length === 0 ? (
              <p class="muted">Nothing recorded yet.</p>
            ) : (
              <ol class="timeline">
                {r.timeline.map((e) => (
                  <li key={e.seq}>
                    <time dateTime={e.at}>{when(e.at)}</time>
                    <span>{e.summary}</span>
                  </li>
                ))}
              </ol>
            )}
          </section>
        </div>

        <aside class="side-col">
          <section aria-labelledby="policy-title" class="card">
            <h2 id="policy-title">Policy</h2>
            {a.policy ? (
              <dl class="facts">
                <dt>Decision</dt>
                <dd>{a.policy.decision.replace('_', ' ')}</dd>
                <dt>Rules</dt>
                <dd class="mono">{a.policy.ruleIds.join(', ') || 'default'}</dd>
                <dt>Reasons</dt>
                <dd>{a.policy.reasons.join('; ') || '—'}</dd>
                <dt>Version</dt>
                <dd class="mono" title={a.policy.version}>
                  {a.policy.version.slice(0, 12)}
                </dd>
              </dl>
            ) : (
              <p class="muted">Not evaluated yet.</p>
            )}
          </section>

          <Approvals review={r} />

          <section aria-labelledby="model-title" class="card">
            <h2 id="model-title">Model</h2>
            {r.model && Object.keys(r.model).length ? (
              <dl class="facts">
                <dt>Provider</dt>
                <dd>{r.model.provider ?? '—'}</dd>
                <dt>Name</dt>
                <dd>{r.model.name ?? '—'}</dd>
                <dt>Trace id</dt>
                <dd class="mono">{r.model.traceId ?? '—'}</dd>
              </dl>
            ) : (
              <p class="muted">The agent named no model.</p>
            )}
          </section>

          <section aria-labelledby="lineage-title" class="card">
            <h2 id="lineage-title">Lineage</h2>
            {lineage.data ? <LineageTree node={lineage.data.root} current={a.id} /> : <ErrorNote error={lineage.error} />}
          </section>

          {a.outcome || a.error || a.result !== undefined ? (
            <section aria-labelledby="outcome-title" class="card">
              <h2 id="outcome-title">Outcome</h2>
              <dl class="facts">
                {a.outcome ? (
                  <>
                    <dt>By</dt>
                    <dd>
                      {a.outcome.by}
                      {a.outcome.actor ? ` (${a.outcome.actor})` : ''}
                    </dd>
                    <dt>Reason</dt>
                    <dd>{a.outcome.reason ?? '—'}</dd>
                  </>
                ) : null}
                {a.error ? (
                  <>
                    <dt>Error</dt>
                    <dd>{a.error}</dd>
                  </>
                ) : null}
                {a.result !== undefined ? (
                  <>
                    <dt>Result</dt>
                    <dd class="mono">{short(a.result, 300)}</dd>
                  </>
                ) : null}
              </dl>
            </section>
          ) : null}

          <p>
            <a href={a.links.temporalUi} target="_blank" rel="noopener noreferrer">
              Open the workflow in the Temporal UI<span class="sr-only"> (opens in a new tab)</span>
            </a>
          </p>
        </aside>
      </div>
    </article>
  );
}

function ParamsTable({ params }: { params: Record<string, unknown> }) {
  const entries = Object.entries(params);
  if (entries.length === 0) return <p class="muted">No params.</p>;
  return (
    <table class="params">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td class={v === MASK ? 'masked' : 'mono'}>{v === MASK ? '•••• hidden' : typeof v === 'string' ? v : JSON.stringify(v, null, 2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Approvals({ review }: { review: ActionReview }) {
  const ap = review.action.approval;
  if (!ap && !review.plan) return null;
  return (
    <section aria-labelledby="approvals-title" class="card">
      <h2 id="approvals-title">Approvals</h2>
      {review.plan ? (
        <ol class="plan">
          {review.plan.steps.map((s, i) => {
            const here = ap && ap.step === i + 1 && review.action.status === 'awaiting_approval';
            const got = ap ? ap.approvals.filter((v) => v.step === i + 1 && v.decision === 'approve').length : 0;
            return (
              <li key={i} class={here ? 'current' : ''} aria-current={here ? 'step' : undefined}>
                <strong>{s.group}</strong>: {got}/{s.quorum} approval{s.quorum === 1 ? '' : 's'}, {duration(s.timeoutMs)}
                {s.also?.length ? ` and ${s.also.map((x) => `${x.quorum} of ${x.group}`).join(', ')}` : ''}
                {s.escalateTo.length ? <span class="muted"> · escalates to {s.escalateTo.map((e) => e.group).join(', ')}</span> : null}
              </li>
            );
          })}
        </ol>
      ) : null}
      {ap?.escalations.length ? <p class="muted">Escalated to {ap.escalations.map((e) => e.group).join(', ')}.</p> : null}
      <h3>Votes</h3>
      {ap && ap.approvals.length ? (
        <ul class="votes">
          {ap.approvals.map((v) => (
            <li key={`${v.reviewer}-${v.at}`}>
              <strong>{v.reviewer}</strong> {v.decision === 'approve' ? 'approved' : 'denied'}
              {v.edits ? ' with edits' : ''} <span class="muted">· step {v.step} · {when(v.at)}</span>
              {v.reason ? <q>{v.reason}</q> : null}
              {v.edits ? (
                <ul class="muted">
                  {Object.entries(v.edits).map(([p, e]) => (
                    <li key={p}>
                      {p}: {short(e.from)} → {short(e.to)}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No votes yet.</p>
      )}
    </section>
  );
}

function LineageTree({ node, current }: { node: LineageNode; current: string }) {
  const n = node as LineageNode & { children?: LineageNode[]; id: string; action?: string; status?: string; hidden?: boolean };
  if (!n.children?.length && n.id === current) return <p class="muted">No parent or child actions.</p>;
  const render = (x: typeof n) => (
    <li key={x.id}>
      {x.id === current ? (
        <strong aria-current="page">
          {x.action ?? 'this action'} ({STATUS_LABEL[x.status ?? ''] ?? x.status})
        </strong>
      ) : x.action ? (
        <a href={href(`/actions/${x.id}`)}>
          {x.action} ({STATUS_LABEL[x.status ?? ''] ?? x.status})
        </a>
      ) : (
        <span class="muted">an action you cannot see</span>
      )}
      {x.children?.length ? <ul>{(x.children as (typeof n)[]).map(render)}</ul> : null}
    </li>
  );
  return <ul class="lineage">{render(n)}</ul>;
}

/** The decision panel: reason, Approve (with Confirm), Deny (reason required), Approve with edits. */
function Decide({ review, onDecided }: { review: ActionReview; onDecided: () => void }) {
  const a = review.action;
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const may = review.mayDecide;

  const finish = (view: ActionView, what: string) => {
    setDone(`${what}. The action is now ${STATUS_LABEL[view.status]?.toLowerCase() ?? view.status}.`);
    setConfirming(false);
    setEditing(false);
    setBusy(false);
    onDecided();
  };
  const decide = async (decision: 'approve' | 'deny') => {
    if (decision === 'deny' && !reason.trim()) {
      setError('Give a reason to deny: the agent sees it.');
      reasonRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      finish(await sendDecision(a.id, decision, { reason: reason.trim() || undefined, digest: a.approval?.digest }), decision === 'approve' ? 'You approved' : 'You denied');
    } catch (err) {
      setError(decisionErrorText(err));
      setBusy(false);
    }
  };

  useKeys(
    {
      a: () => may.approve && !done && setConfirming(true),
      d: () => {
        if (!may.deny || done) return;
        if (reason.trim()) void decide('deny');
        else reasonRef.current?.focus();
      },
    },
    [may.approve, may.deny, done, reason],
  );

  if (done) {
    return (
      <section aria-labelledby="decide-title" class="card decide">
        <h2 id="decide-title">Your decision</h2>
        <p role="status" class="done">
          {done}
        </p>
        <p>
          <a href={href('/')}>Back to the inbox</a>
        </p>
      </section>
    );
  }
  if (!may.approve && !may.deny) {
    return a.status === 'awaiting_approval' ? (
      <section aria-labelledby="decide-title" class="card decide">
        <h2 id="decide-title">Your decision</h2>
        <p class="muted">{may.why ?? 'You cannot decide this action.'}</p>
      </section>
    ) : null;
  }
  return (
    <section aria-labelledby="decide-title" class="card decide">
      <h2 id="decide-title">Your decision</h2>
      {editing ? (
        <EditForm review={review} onCancel={() => setEditing(false)} onDone={(v) => finish(v, 'You approved with edits')} />
      ) : (
        <>
          <label for="reason">Reason (required to deny)</label>
          <textarea
            id="reason"
            ref={reasonRef}
            rows={3}
            value={reason}
            aria-invalid={error && !reason.trim() ? 'true' : undefined}
            aria-describedby={error ? 'decide-error' : undefined}
            onInput={(e) => {
              setReason((e.target as HTMLTextAreaElement).value);
              setError(undefined);
            }}
          />
          {error ? (
            <p id="decide-error" class="error" role="alert">
              {error}
            </p>
          ) : null}
          {confirming ? (
            <div class="confirm" role="group" aria-labelledby="confirm-text">
              <p id="confirm-text">
                Approve <strong>{a.action}</strong> with the params shown{reason.trim() ? ', with your reason' : ''}?
              </p>
              <div class="buttons">
                <button type="button" class="primary" disabled={busy} onClick={() => decide('approve')} autofocus ref={(el) => el?.focus()}>
                  Confirm
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <div class="buttons">
              <button type="button" class="primary" disabled={busy || !may.approve} onClick={() => setConfirming(true)}>
                Approve
              </button>
              <button type="button" class="danger" disabled={busy || !may.deny} onClick={() => decide('deny')}>
                Deny
              </button>
              {review.paramsSchema && may.approve ? (
                <button type="button" disabled={busy} onClick={() => setEditing(true)}>
                  Approve with edits
                </button>
              ) : null}
            </div>
          )}
          {!may.approve && may.why ? <p class="muted">{may.why}</p> : null}
        </>
      )}
    </section>
  );
}
