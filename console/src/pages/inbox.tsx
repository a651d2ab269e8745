/**
 * The inbox: what the signed-in reviewer may decide now, oldest deadline first, one page at a
 * time (the API pages by deadline; 10,000 pending never means 10,000 rows on screen). It stays
 * current through the server-sent events of /v1/approvals/events: a new action in range slides
 * in, one decided elsewhere leaves.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ActionPage, type ActionView } from '../api';
import { Countdown, DecideDialog, ErrorNote, Slow } from '../components/common';
import { paramsSummary, shortId } from '../format';
import { useKeys, useSlow } from '../hooks';
import { href, navigate } from '../router';

/** Rows per page. */
const PAGE = 50;
/** The first page's request (main.tsx starts it with the session's). */
export const INBOX_FIRST_PAGE = `/v1/approvals?limit=${PAGE}`;

type Live = 'connecting' | 'live' | 'reconnecting';

/** Order of the inbox: deadline, then id (as the API sorts). */
function before(a: ActionView, b: ActionView): number {
  const da = a.approval?.deadline ?? '9999';
  const db = b.approval?.deadline ?? '9999';
  return da < db ? -1 : da > db ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function InboxPage() {
  const [items, setItems] = useState<ActionView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [pending, setPending] = useState(true);
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState(0);
  const [live, setLive] = useState<Live>('connecting');
  const [notice, setNotice] = useState('');
  const [dialog, setDialog] = useState<{ action: ActionView; decision: 'approve' | 'deny' }>();
  const slow = useSlow(pending && !loaded);
  // The newest state of the list for the event handlers (they outlive renders).
  const state = useRef({ items, cursor });
  state.current = { items, cursor };

  const loadFirst = async () => {
    setPending(true);
    try {
      const page = await api<ActionPage>('GET', INBOX_FIRST_PAGE);
      setItems(page.items);
      setCursor(page.nextCursor);
      setError(undefined);
      setLoaded(true);
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  };

  const loadMore = async () => {
    if (!cursor) return;
    setPending(true);
    try {
      const page = await api<ActionPage>('GET', `/v1/approvals?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`);
      setItems((xs) => {
        const seen = new Set(xs.map((x) => x.id));
        return [...xs, ...page.items.filter((x) => !seen.has(x.id))];
      });
      setCursor(page.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  };

  useEffect(() => {
    void loadFirst();
    const events = new EventSource('/v1/approvals/events');
    let opened = false;
    events.addEventListener('ready', () => {
      setLive('live');
      // After a reconnect, changes may have been missed: read the first page again.
      if (opened) void loadFirst();
      opened = true;
    });
    events.addEventListener('resync', () => void loadFirst());
    events.addEventListener('upsert', (e) => {
      const { action } = JSON.parse((e as MessageEvent).data) as { action: ActionView };
      const { items: xs, cursor: more } = state.current;
      const rest = xs.filter((x) => x.id !== action.id);
      // Only inside the loaded range: past the last row it shows up when the next page is read.
      const last = rest[rest.length - 1];
      if (more && last && before(action, last) > 0) return setItems(rest);
      setItems([...rest, action].sort(before));
    });
    events.addEventListener('remove', (e) => {
      const { id, status } = JSON.parse((e as MessageEvent).data) as { id: string; status: string };
      const gone = state.current.items.find((x) => x.id === id);
      if (!gone) return;
      setItems((xs) => xs.filter((x) => x.id !== id));
      setNotice(`${gone.action} ${shortId(id)} left the inbox (${status.replace('_', ' ')}).`);
    });
    events.onerror = () => {
      setLive('reconnecting');
      // A closed stream (401: the session ended) is not retried by the browser: check the session.
      if (events.readyState === EventSource.CLOSED) void api('GET', '/v1/session').catch(() => {});
    };
    return () => events.close();
  }, []);

  useEffect(() => {
    if (selected >= items.length) setSelected(Math.max(0, items.length - 1));
  }, [items.length]);

  useEffect(() => {
    document.getElementById(`row-${items[selected]?.id}`)?.scrollIntoView?.({ block: 'nearest' });
  }, [selected, items]);

  const current = items[selected];
  useKeys(
    {
      j: () => setSelected((i) => Math.min(i + 1, items.length - 1)),
      k: () => setSelected((i) => Math.max(i - 1, 0)),
      o: () => current && navigate(`/actions/${current.id}`),
      Enter: () => current && navigate(`/actions/${current.id}`),
      a: () => current && setDialog({ action: current, decision: 'approve' }),
      d: () => current && setDialog({ action: current, decision: 'deny' }),
    },
    [items, selected, current],
  );

  return (
    <section aria-labelledby="inbox-title">
      <div class="page-head">
        <h1 id="inbox-title">Inbox</h1>
        <p class="muted">
          {loaded ? `${items.length}${cursor ? '+' : ''} waiting for you` : ''}
          <span class={`live ${live}`} title="updates arrive without a reload">
            {live === 'live' ? ' · live' : live === 'reconnecting' ? ' · reconnecting…' : ''}
          </span>
        </p>
      </div>
      <p class="sr-only" aria-live="polite">
        {notice}
      </p>
      <ErrorNote error={error} />
      <Slow show={slow} />
      {loaded && items.length === 0 ? <p class="empty">Nothing to decide. New requests appear here as they arrive.</p> : null}
      {items.length > 0 ? (
        <ol class="inbox" aria-label="Actions waiting for your decision">
          {items.map((a, i) => (
            <InboxRow key={a.id} action={a} selected={i === selected} onSelect={() => setSelected(i)} />
          ))}
        </ol>
      ) : null}
      {cursor ? (
        <p>
          <button type="button" onClick={loadMore} disabled={pending}>
            Show more
          </button>
        </p>
      ) : null}
      <p class="hint muted">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>a</kbd> approve, <kbd>d</kbd> deny, <kbd>?</kbd> all keys.
      </p>
      {dialog ? (
        <DecideDialog
          action={dialog.action}
          decision={dialog.decision}
          onClose={() => setDialog(undefined)}
          onDone={(view) => {
            setDialog(undefined);
            setItems((xs) => xs.filter((x) => x.id !== view.id));
            setNotice(`${view.action} ${shortId(view.id)}: ${dialog.decision === 'approve' ? 'approved' : 'denied'}; now ${view.status.replace('_', ' ')}.`);
          }}
        />
      ) : null}
    </section>
  );
}

function InboxRow({ action: a, selected, onSelect }: { action: ActionView; selected: boolean; onSelect: () => void }) {
  const ap = a.approval;
  const approvals = ap ? ap.approvals.filter((v) => v.decision === 'approve' && v.step === ap.step).length : 0;
  return (
    <li id={`row-${a.id}`} class={`row${selected ? ' selected' : ''}`} aria-current={selected ? 'true' : undefined} onClick={onSelect} data-action-id={a.id}>
      <div class="row-main">
        <a class="row-title" href={href(`/actions/${a.id}`)}>
          {a.action}
        </a>
        <span class="row-who">
          by <strong>{a.agent}</strong>
          {a.onBehalfOf ? (
            <>
              {' '}
              on behalf of <strong>{a.onBehalfOf}</strong>
            </>
          ) : null}
        </span>
        <span class="row-params">{paramsSummary(a.params)}</span>
        {a.policy?.reasons.length ? <span class="row-reasons">{a.policy.reasons.join(' · ')}</span> : null}
      </div>
      <div class="row-side">
        <Countdown deadline={ap?.deadline} />
        {ap ? (
          <span class="row-step">
            step {ap.step}/{ap.steps} · {ap.group} · {approvals}/{ap.quorum} votes
          </span>
        ) : null}
      </div>
    </li>
  );
}
