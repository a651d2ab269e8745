/**
 * Operators: the active policy, its stored versions with a line diff between any two, and a
 * dry-run form (POST /v1/policy/evaluate: nothing is started).
 */
import { diffLines } from 'diff';
import { useState } from 'preact/hooks';
import { api, type ActivePolicy, type PolicyDecision, type PolicyVersions } from '../api';
import { ErrorNote, Slow } from '../components/common';
import { duration, when } from '../format';
import { useLoad, useSlow } from '../hooks';

type Source = { version: string; source: string; sourceName: string | null };

export function PolicyPage() {
  const active = useLoad((signal) => api<ActivePolicy>('GET', '/v1/policy', undefined, { signal }), []);
  const versions = useLoad((signal) => api<PolicyVersions>('GET', '/v1/policy/versions', undefined, { signal }), []);
  const slow = useSlow(versions.pending && !versions.data);
  return (
    <section aria-labelledby="policy-page-title">
      <h1 id="policy-page-title">Policy</h1>
      <ErrorNote error={active.error ?? versions.error} />
      {active.data ? (
        <p>
          Active: <span class="mono">{active.data.version.slice(0, 12)}</span> since {when(active.data.loadedAt)}, by {active.data.activatedBy} <span class="muted">({active.data.source})</span>
        </p>
      ) : null}
      <Slow show={slow} />
      {versions.data ? <VersionDiff versions={versions.data.items} active={active.data?.version} /> : null}
      <DryRun />
    </section>
  );
}

function VersionDiff({ versions, active }: { versions: PolicyVersions['items']; active?: string }) {
  const [from, setFrom] = useState(versions[1]?.version ?? versions[0]?.version ?? '');
  const [to, setTo] = useState(active ?? versions[0]?.version ?? '');
  const [result, setResult] = useState<{ parts: ReturnType<typeof diffLines>; from: string; to: string }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const show = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const [a, b] = await Promise.all([from, to].map((v) => api<Source>('GET', `/v1/policy/versions/${encodeURIComponent(v)}`)));
      setResult({ parts: diffLines(a.source, b.source), from, to });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const label = (v: PolicyVersions['items'][number]) => `${v.version.slice(0, 12)} · ${when(v.createdAt)} · ${v.author}${v.version === active ? ' (active)' : ''}`;
  return (
    <section aria-labelledby="versions-title" class="card">
      <h2 id="versions-title">Versions</h2>
      <div class="table-wrap">
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Author</th>
              <th scope="col">Stored</th>
              <th scope="col">Activated</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td class="mono">
                  {v.version.slice(0, 12)}
                  {v.version === active ? ' (active)' : ''}
                </td>
                <td>{v.author}</td>
                <td>{when(v.createdAt)}</td>
                <td>{v.activations.map(when).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="filters" onSubmit={show} aria-label="Compare two versions">
        <div class="field">
          <label for="diff-from">From</label>
          <select id="diff-from" value={from} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>
            {versions.map((v) => (
              <option value={v.version}>{label(v)}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="diff-to">To</label>
          <select id="diff-to" value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
            {versions.map((v) => (
              <option value={v.version}>{label(v)}</option>
            ))}
          </select>
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy || !from || !to}>
            Compare
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {result ? (
        result.parts.every((p) => !p.added && !p.removed) ? (
          <p class="muted">The two versions are the same text.</p>
        ) : (
          <pre class="line-diff" aria-label={`Changes from ${result.from.slice(0, 12)} to ${result.to.slice(0, 12)}`}>
            {result.parts.map((p, i) =>
              p.added ? (
                <ins key={i}>{prefix(p.value, '+ ')}</ins>
              ) : p.removed ? (
                <del key={i}>{prefix(p.value, '- ')}</del>
              ) : (
                <span key={i} class="muted">
                  {prefix(p.value, '  ')}
                </span>
              ),
            )}
          </pre>
        )
      ) : null}
    </section>
  );
}

function prefix(text: string, mark: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => mark + l)
    .join('\n')
    .concat('\n');
}

function DryRun() {
  const [form, setForm] = useState({ action: '', params: '{\n  \n}', agent: '', onBehalfOf: '' });
  const [answer, setAnswer] = useState<PolicyDecision>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(form.params);
    } catch {
      setError(new Error('Params must be a JSON object.'));
      return;
    }
    setBusy(true);
    try {
      setAnswer(await api<PolicyDecision>('POST', '/v1/policy/evaluate', { action: form.action.trim(), params, ...(form.agent.trim() && { agent: form.agent.trim() }), ...(form.onBehalfOf.trim() && { onBehalfOf: form.onBehalfOf.trim() }) }));
    } catch (err) {
      setAnswer(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="dryrun-title" class="card">
      <h2 id="dryrun-title">Dry run</h2>
      <p class="muted">What the active policy would decide for a proposal. Nothing is started or recorded.</p>
      <form onSubmit={run} class="stack">
        <div class="field">
          <label for="dr-action">Action</label>
          <input id="dr-action" required value={form.action} placeholder="payments.transfer" onInput={(e) => setForm({ ...form, action: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="dr-params">Params (JSON)</label>
          <textarea id="dr-params" rows={5} class="mono" value={form.params} onInput={(e) => setForm({ ...form, params: (e.target as HTMLTextAreaElement).value })} />
        </div>
        <div class="field">
          <label for="dr-agent">Agent (optional; you by default)</label>
          <input id="dr-agent" value={form.agent} onInput={(e) => setForm({ ...form, agent: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="dr-obo">On behalf of (optional)</label>
          <input id="dr-obo" value={form.onBehalfOf} onInput={(e) => setForm({ ...form, onBehalfOf: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Evaluate
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {answer ? (
        <div class="result" role="status">
          <p>
            Decision: <strong>{answer.decision.replace('_', ' ')}</strong>
            {answer.decidedBy.length ? ` by ${answer.decidedBy.join(', ')}` : ' (default)'} — {answer.reason}
          </p>
          {answer.plan ? (
            <ol>
              {answer.plan.steps.map((s, i) => (
                <li key={i}>
                  {s.quorum} approval{s.quorum === 1 ? '' : 's'} from {s.group} within {duration(s.timeoutMs)}
                </li>
              ))}
            </ol>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
