/** Operators: pauses (the stop button) and reviewer metrics (shown when the server has them). */
import { useState } from 'preact/hooks';
import { api, type PauseList, type ReviewerReport } from '../api';
import { ErrorNote, Slow } from '../components/common';
import { when } from '../format';
import { useLoad, useSlow } from '../hooks';

export function PausesPage() {
  const list = useLoad((signal) => api<PauseList>('GET', '/v1/controls/pauses', undefined, { signal }).then((l) => l.items), []);
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
  const resume = async (id: string) => {
    setError(undefined);
    try {
      await api('DELETE', `/v1/controls/pauses/${encodeURIComponent(id)}`);
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
                <button type="button" onClick={() => resume(p.id)}>
                  Resume<span class="sr-only"> {p.scope === 'all' ? 'everything' : Object.values(p.scope).join(' ')}</span>
                </button>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);
const secs = (ms: number | null) => (ms === null ? '—' : ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

export function MetricsPage() {
  const report = useLoad((signal) => api<ReviewerReport>('GET', '/v1/reports/reviewers', undefined, { signal }), []);
  const slow = useSlow(report.pending && !report.data);
  const r = report.data;
  const rows = r?.reviewers ?? [];
  const maxDecisions = Math.max(1, ...rows.map((x) => x.decisions));
  const maxMedian = Math.max(1, ...rows.map((x) => x.medianTimeToDecideMs ?? 0));
  return (
    <section aria-labelledby="metrics-title">
      <h1 id="metrics-title">Reviewer metrics</h1>
      {r ? (
        <p class="muted">
          {when(r.since)} to {when(r.until)}. Decisions faster than {secs(r.fastDecisionMs)} and reviewers who never deny can be signs of approval fatigue.
        </p>
      ) : null}
      <ErrorNote error={report.error} />
      <Slow show={slow} />
      {r && rows.length === 0 ? <p class="empty">No decisions in this period.</p> : null}
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
                <th scope="col">Fast</th>
                <th scope="col">Disagreed</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((x) => (
                <tr key={x.reviewer}>
                  <th scope="row">{x.reviewer}</th>
                  <td>
                    <span class="bar" style={{ width: `${(x.decisions / maxDecisions) * 8}rem` }} aria-hidden="true" /> {x.decisions}
                  </td>
                  <td>
                    <span class="rates" aria-hidden="true">
                      <span class="rate-approve" style={{ width: `${x.approveRate * 8}rem` }} />
                      <span class="rate-deny" style={{ width: `${x.denyRate * 8}rem` }} />
                      <span class="rate-edit" style={{ width: `${x.editRate * 8}rem` }} />
                    </span>{' '}
                    {pct(x.approveRate)} / {pct(x.denyRate)} / {pct(x.editRate)}
                  </td>
                  <td>
                    <span class="bar alt" style={{ width: `${((x.medianTimeToDecideMs ?? 0) / maxMedian) * 8}rem` }} aria-hidden="true" /> {secs(x.medianTimeToDecideMs)}
                  </td>
                  <td>{secs(x.p90TimeToDecideMs)}</td>
                  <td>{x.fastDecisions}</td>
                  <td>
                    {x.disagreements}
                    {x.disagreementRate !== null ? ` (${pct(x.disagreementRate)})` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
