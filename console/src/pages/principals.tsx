/**
 * Admins: principals (create, disable, enable), their tokens (issue with an expiry, revoke) and
 * sign-in links for humans. A token or link is shown once, here, right after it is made.
 */
import { useState } from 'preact/hooks';
import { api, type PrincipalCreated, type PrincipalList, type SignInLink, type TokenCreated, type TokenList } from '../api';
import { ErrorNote, Slow } from '../components/common';
import { when } from '../format';
import { useLoad, useSlow } from '../hooks';

const ROLES = ['reviewer', 'operator', 'admin', 'agent'] as const;

export function PrincipalsPage() {
  const list = useLoad((signal) => api<PrincipalList>('GET', '/v1/principals', undefined, { signal }).then((l) => l.items), []);
  const slow = useSlow(list.pending && !list.data);
  const [open, setOpen] = useState<string>();
  return (
    <section aria-labelledby="principals-title">
      <h1 id="principals-title">Principals</h1>
      <CreatePrincipal onCreated={list.reload} />
      <ErrorNote error={list.error} />
      <Slow show={slow} />
      {list.data ? (
        <div class="table-wrap">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Kind</th>
                <th scope="col">Roles</th>
                <th scope="col">Groups</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr-only">Manage</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((p) => (
                <>
                  <tr key={p.id}>
                    <td>{p.id}</td>
                    <td>{p.kind}</td>
                    <td>{p.roles.join(', ') || '—'}</td>
                    <td>{p.groups.join(', ') || '—'}</td>
                    <td>{p.disabled ? <span class="badge status-denied">disabled</span> : <span class="badge status-succeeded">active</span>}</td>
                    <td>
                      <button type="button" aria-expanded={open === p.id} onClick={() => setOpen(open === p.id ? undefined : p.id)}>
                        {open === p.id ? 'Close' : 'Manage'}
                        <span class="sr-only"> {p.id}</span>
                      </button>
                    </td>
                  </tr>
                  {open === p.id ? (
                    <tr key={`${p.id}-manage`}>
                      <td colSpan={6}>
                        <Manage principal={p} onChanged={list.reload} />
                      </td>
                    </tr>
                  ) : null}
                </>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function CreatePrincipal({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({ id: '', kind: 'human' as 'human' | 'agent', roles: ['reviewer'] as string[], groups: '' });
  const [created, setCreated] = useState<{ id: string; token: string }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const groups = form.groups.split(',').map((g) => g.trim()).filter(Boolean);
      setCreated(await api<PrincipalCreated>('POST', '/v1/principals', { id: form.id.trim(), kind: form.kind, roles: form.kind === 'agent' ? ['agent'] : form.roles, groups }));
      setForm({ ...form, id: '' });
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-title" class="card">
      <h2 id="create-title">New principal</h2>
      <form onSubmit={submit} class="filters">
        <div class="field">
          <label for="np-id">Id</label>
          <input id="np-id" required value={form.id} onInput={(e) => setForm({ ...form, id: (e.target as HTMLInputElement).value })} autocomplete="off" />
        </div>
        <div class="field">
          <label for="np-kind">Kind</label>
          <select id="np-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: (e.target as HTMLSelectElement).value as 'human' | 'agent' })}>
            <option value="human">human</option>
            <option value="agent">agent</option>
          </select>
        </div>
        {form.kind === 'human' ? (
          <fieldset class="field">
            <legend>Roles</legend>
            {ROLES.filter((r) => r !== 'agent').map((r) => (
              <label class="check" key={r}>
                <input
                  type="checkbox"
                  checked={form.roles.includes(r)}
                  onChange={(e) => setForm({ ...form, roles: (e.target as HTMLInputElement).checked ? [...form.roles, r] : form.roles.filter((x) => x !== r) })}
                />{' '}
                {r}
              </label>
            ))}
          </fieldset>
        ) : null}
        <div class="field">
          <label for="np-groups">Groups (comma-separated)</label>
          <input id="np-groups" value={form.groups} onInput={(e) => setForm({ ...form, groups: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {created ? <Secret label={`Token for ${created.id} (shown once)`} value={created.token} /> : null}
    </section>
  );
}

/** A secret shown once, selectable and copyable. */
function Secret({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <p>{label}</p>
      <code class="mono">{value}</code>{' '}
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

function Manage({ principal: p, onChanged }: { principal: PrincipalList['items'][number]; onChanged: () => void }) {
  const base = `/v1/principals/${encodeURIComponent(p.id)}`;
  const tokens = useLoad((signal) => api<TokenList>('GET', `${base}/tokens`, undefined, { signal }).then((l) => l.items), [p.id]);
  const [error, setError] = useState<unknown>();
  const [secret, setSecret] = useState<{ label: string; value: string }>();
  const [expiresIn, setExpiresIn] = useState('90d');
  const act = async (what: () => Promise<void>) => {
    setError(undefined);
    try {
      await what();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="manage">
      <div class="buttons">
        <button
          type="button"
          class={p.disabled ? '' : 'danger'}
          onClick={() =>
            act(async () => {
              await api('PATCH', base, { disabled: !p.disabled });
              onChanged();
            })
          }
        >
          {p.disabled ? 'Enable' : 'Disable'} {p.id}
        </button>
        {p.kind === 'human' ? (
          <button
            type="button"
            onClick={() =>
              act(async () => {
                const link = await api<SignInLink>('POST', `${base}/sign-in-links`, {});
                setSecret({ label: `Sign-in link for ${p.id} (one use, until ${when(link.expiresAt)})`, value: link.url });
              })
            }
          >
            Create a sign-in link
          </button>
        ) : null}
      </div>
      <h3>Tokens</h3>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const t = await api<TokenCreated>('POST', `${base}/tokens`, expiresIn.trim() ? { expiresIn: expiresIn.trim() } : {});
            setSecret({ label: `New token ${t.tokenId} for ${p.id}${t.expiresAt ? `, expires ${when(t.expiresAt)}` : ', no expiry'} (shown once)`, value: t.token });
            tokens.reload();
          });
        }}
      >
        <div class="field">
          <label for={`exp-${p.id}`}>Expires in (e.g. 1h, 90d; empty for never)</label>
          <input id={`exp-${p.id}`} value={expiresIn} onInput={(e) => setExpiresIn((e.target as HTMLInputElement).value)} />
        </div>
        <div class="buttons">
          <button type="submit">Issue a token</button>
        </div>
      </form>
      {secret ? <Secret label={secret.label} value={secret.value} /> : null}
      <ErrorNote error={error ?? tokens.error} />
      {tokens.data ? (
        tokens.data.length === 0 ? (
          <p class="muted">No tokens.</p>
        ) : (
          <ul class="tokens">
            {tokens.data.map((t) => (
              <li key={t.tokenId}>
                <span class="mono">{t.tokenId}</span> <span class="muted">created {when(t.createdAt)} · {t.expiresAt ? `expires ${when(t.expiresAt)}` : 'no expiry'}</span>
                {t.revokedAt ? (
                  <span class="badge status-cancelled">revoked</span>
                ) : (
                  <button
                    type="button"
                    class="danger small"
                    onClick={() =>
                      act(async () => {
                        await api('DELETE', `${base}/tokens/${encodeURIComponent(t.tokenId)}`);
                        tokens.reload();
                      })
                    }
                  >
                    Revoke<span class="sr-only"> token {t.tokenId}</span>
                  </button>
                )}
              </li>
            ))}
          </ul>
        )
      ) : null}
    </div>
  );
}
