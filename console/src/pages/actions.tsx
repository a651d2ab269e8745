/** Operators: every action, newest first, filtered by status, action and agent, one page at a time. */
import { useState } from 'preact/hooks';
import { api, type ActionPage } from '../api';
import { ErrorNote, Slow, StatusBadge } from '../components/common';
import { paramsSummary, when, STATUS_LABEL } from '../format';
import { useLoad, useSlow } from '../hooks';
import { href, navigate } from '../router';

export function ActionsPage({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const action = query.get('action') ?? '';
  const agent = query.get('agent') ?? '';
  const cursor = query.get('cursor') ?? '';
  const qs = new URLSearchParams({ limit: '50', ...(status && { status }), ...(action && { action }), ...(agent && { agent }), ...(cursor && { cursor }) });
  const page = useLoad((signal) => api<ActionPage>('GET', `/v1/actions?${qs}`, undefined, { signal }), [qs.toString()]);
  const slow = useSlow(page.pending);
  const [form, setForm] = useState({ status, action, agent });

  const apply = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v) as [string, string][]);
    navigate(`/actions${q.size ? `?${q}` : ''}`);
  };
  return (
    <section aria-labelledby="actions-title">
      <h1 id="actions-title">All actions</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter actions">
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={form.status} onChange={(e) => setForm({ ...form, status: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {Object.entries(STATUS_LABEL).map(([k, v]) => (
              <option value={k}>{v}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-action">Action</label>
          <input id="f-action" value={form.action} placeholder="payments.transfer" onInput={(e) => setForm({ ...form, action: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="f-agent">Agent</label>
          <input id="f-agent" value={form.agent} onInput={(e) => setForm({ ...form, agent: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="buttons">
          <button type="submit" class="primary">
            Filter
          </button>
        </div>
      </form>
      <ErrorNote error={page.error} />
      <Slow show={slow && !page.data} />
      {page.data ? (
        page.data.items.length === 0 ? (
          <p class="empty">No actions match.</p>
        ) : (
          <div class="table-wrap">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Action</th>
                  <th scope="col">Status</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Params</th>
                  <th scope="col">Proposed</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <a href={href(`/actions/${a.id}`)}>{a.action}</a>
                    </td>
                    <td>
                      <StatusBadge status={a.status} />
                    </td>
                    <td>
                      {a.agent}
                      {a.onBehalfOf ? <span class="muted"> for {a.onBehalfOf}</span> : null}
                    </td>
                    <td class="clip">{paramsSummary(a.params, 80)}</td>
                    <td>{when(a.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      {page.data?.nextCursor ? (
        <p>
          <a href={href(`/actions?${new URLSearchParams({ ...Object.fromEntries(qs), cursor: page.data.nextCursor })}`)}>Older actions →</a>
        </p>
      ) : null}
    </section>
  );
}
