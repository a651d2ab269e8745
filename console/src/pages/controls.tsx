/**
 * Operators: pauses (the stop button) and reviewer metrics. Both are shown only when the server
 * has their endpoints (the app reads /openapi.json); their answers are read defensively.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote, Slow } from '../components/common';
import { when } from '../format';
import { useLoad, useSlow } from '../hooks';

interface Pause {
  id: string;
  scope: 'all' | { agent?: string; action?: string };
  reason: string;
  by: string;
  at: string;
}

const itemsOf = <T,>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : (((x as { items?: T[] })?.items ?? []) as T[]));

export function PausesPage() {
  const list = useLoad((signal) => api<unknown>('GET', '/v1/controls/pauses', undefined, { signal }).then(itemsOf<Pause>), []);
  const slow = useSlow(list.pending && !list.data);
  const [form, setForm] = useState({ all: false, agent: '', action: '', reason: '' });
  const [error, setError] = useState<unknown>();
  const pause = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const scope = form.all ? 'all' : { ...(form.agent.trim() && { agent: form.agent.trim() }), ...(form.action.trim() && { action: form.action.trim() }) };
      await api('POST', '/v1/controls/pauses', { scope, reason: form.reason.trim() });
      setForm({ all: false, agent: '', action: '', reason: '' });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="pauses-title">
      <h1 id="pauses-title">Pauses</h1>
      <section class="card" aria-labelledby="new-pause-title">
        <h2 id="new-pause-title">Pause</h2>
        <p class="muted">While a pause matches, new proposals are denied, decisions wait, and nothing executes. Agent and action combine (both must match).</p>
        <form class="filters" onSubmit={pause}>
          <label class="check">
            <input type="checkbox" checked={form.all} onChange={(e) => setForm({ ...form, all: (e.target as HTMLInputElement).checked })} /> Everything
          </label>
          <div class="field">
            <label for="p-agent">Agent</label>
            <input id="p-agent" disabled={form.all} value={form.agent} onInput={(e) => setForm({ ...form, agent: (e.target as HTMLInputElement).value })} />
          </div>
          <div class="field">
            <label for="p-action">Action</label>
            <input id="p-action" disabled={form.all} value={form.action} onInput={(e) => setForm({ ...form, action: (e.target as HTMLInputElement).value })} />
          </div>
          <div class="field">
            <label for="p-reason">Reason</label>
            <input id="p-reason" required value={form.reason} onInput={(e) => setForm({ ...form, reason: (e.target as HTMLInputElement).value })} />
          </div>
          <div class="buttons">
            <button type="submit" class="danger">
              Pause
            </button>
          </div>
        </form>
        <ErrorNote error={error ?? list.error} />
      </section>
      <Slow show={slow} />
      {list.data ? (
        list.data.length === 0 ? (
          <p class="empty">Nothing is paused.</p>
        ) : (
          <ul class="pauses">
            {list.data.map((p) => (
              <li key={p.id}>
                <strong>{p.scope === 'all' ? 'Everything' : Object.entries(p.scope).map(([k, v]) => `${k} ${v}`).join(' and ')}</strong> — {p.reason}{' '}
                <span class="muted">
                  by {p.by}, {when(p.at)}
                </span>{' '}
                <button
                  type="button"
                  onClick={() =>
                    api('DELETE', `/v1/controls/pauses/${encodeURIComponent(p.id)}`).then(list.reload, setError)
                  }
                >
                  Resume
                </button>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}

type ReviewerRow = Record<string, unknown> & { reviewer?: string; id?: string };

/** A number from a row, tolerant of nesting (`rates.approve`) and absence. */
function num(row: ReviewerRow, ...paths: string[]): number | undefined {
  for (const p of paths) {
    const v = p.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), row);
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

export function MetricsPage() {
  const report = useLoad((signal) => api<unknown>('GET', '/v1/reports/reviewers', undefined, { signal }), []);
  const slow = useSlow(report.pending && !report.data);
  const rows = itemsOf<ReviewerRow>((report.data as { reviewers?: unknown })?.reviewers ?? report.data);
  const maxDecisions = Math.max(1, ...rows.map((r) => num(r, 'decisions', 'total') ?? 0));
  const maxMedian = Math.max(1, ...rows.map((r) => num(r, 'medianMs', 'timeToDecide.medianMs', 'median') ?? 0));
  return (
    <section aria-labelledby="metrics-title">
      <h1 id="metrics-title">Reviewer metrics</h1>
      <p class="muted">The last 30 days. Very fast decisions and reviewers who never deny can be signs of approval fatigue.</p>
      <ErrorNote error={report.error} />
      <Slow show={slow} />
      {report.data && rows.length === 0 ? <p class="empty">No decisions in this period.</p> : null}
      {rows.length ? (
        <div class="table-wrap">
          <table class="list metrics">
            <thead>
              <tr>
                <th scope="col">Reviewer</th>
                <th scope="col">Decisions</th>
                <th scope="col">Approve / deny / edit</th>
                <th scope="col">Median time to decide</th>
                <th scope="col">p90</th>
                <th scope="col">Fast decisions</th>
                <th scope="col">Disagreements</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const decisions = num(r, 'decisions', 'total') ?? 0;
                const median = num(r, 'medianMs', 'timeToDecide.medianMs', 'median');
                const pct = (v?: number) => (v === undefined ? '—' : `${Math.round(v <= 1 ? v * 100 : v)}%`);
                return (
                  <tr key={String(r.reviewer ?? r.id)}>
                    <th scope="row">{String(r.reviewer ?? r.id)}</th>
                    <td>
                      <span class="bar" style={{ width: `${(decisions / maxDecisions) * 100}%` }} aria-hidden="true" /> {decisions}
                    </td>
                    <td>
                      {pct(num(r, 'approveRate', 'rates.approve'))} / {pct(num(r, 'denyRate', 'rates.deny'))} / {pct(num(r, 'editRate', 'rates.edit'))}
                    </td>
                    <td>
                      <span class="bar alt" style={{ width: `${((median ?? 0) / maxMedian) * 100}%` }} aria-hidden="true" /> {median === undefined ? '—' : `${(median / 1000).toFixed(1)} s`}
                    </td>
                    <td>{(() => { const p = num(r, 'p90Ms', 'timeToDecide.p90Ms', 'p90'); return p === undefined ? '—' : `${(p / 1000).toFixed(1)} s`; })()}</td>
                    <td>{num(r, 'fastDecisions', 'fast') ?? '—'}</td>
                    <td>{num(r, 'disagreements', 'disagreed') ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
