/**
 * The console's shell: who is signed in (GET /v1/session; without a session, the sign-in page),
 * the navigation their roles open, sign-out, the keyboard help, and the page for the route.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, serverHas, SIGN_IN_PATH, type Session } from './api';
import { KeysDialog } from './components/common';
import { useKeys } from './hooks';
import { ActionPage } from './pages/action';
import { ActionsPage } from './pages/actions';
import { MetricsPage, PausesPage } from './pages/controls';
import { InboxPage } from './pages/inbox';
import { PolicyPage } from './pages/policy';
import { PrincipalsPage } from './pages/principals';
import { href, useRoute } from './router';

const isOperator = (s: Session) => s.principal.roles.includes('operator') || s.principal.roles.includes('admin');
const isAdmin = (s: Session) => s.principal.roles.includes('admin');

export function App() {
  const [session, setSession] = useState<Session>();
  const [failed, setFailed] = useState<unknown>();
  const [keys, setKeys] = useState(false);
  const [optional, setOptional] = useState({ pauses: false, metrics: false });
  const { path, query } = useRoute();

  useEffect(() => {
    api<Session>('GET', '/v1/session').then(setSession, (err) => {
      // 401 navigates to the sign-in page (api.ts); anything else is shown.
      if (!(err instanceof ApiError && err.status === 401)) setFailed(err);
    });
  }, []);
  useEffect(() => {
    if (!session || !isOperator(session)) return;
    void Promise.all([serverHas('/v1/controls/pauses'), serverHas('/v1/reports/reviewers')]).then(([pauses, metrics]) => setOptional({ pauses, metrics }));
  }, [session]);
  useKeys({ '?': () => setKeys(true) }, []);

  useEffect(() => {
    const titles: [RegExp, string][] = [
      [/^\/$/, 'Inbox'],
      [/^\/actions\/act_/, 'Action'],
      [/^\/actions/, 'All actions'],
      [/^\/policy/, 'Policy'],
      [/^\/principals/, 'Principals'],
      [/^\/pauses/, 'Pauses'],
      [/^\/metrics/, 'Reviewer metrics'],
    ];
    document.title = `${titles.find(([re]) => re.test(path))?.[1] ?? 'Not found'} · Countersign`;
  }, [path]);

  const signOut = async () => {
    try {
      await api('POST', '/v1/session/sign-out');
    } finally {
      window.location.assign(SIGN_IN_PATH);
    }
  };

  if (!session) {
    return (
      <main id="main" class="container">
        {failed ? (
          <p class="error" role="alert">
            The console could not reach Countersign: {String((failed as Error).message ?? failed)}. <a href="/console">Try again</a>.
          </p>
        ) : null}
      </main>
    );
  }
  const nav: [string, string, boolean][] = [
    ['/', 'Inbox', true],
    ['/actions', 'All actions', isOperator(session)],
    ['/policy', 'Policy', isOperator(session)],
    ['/principals', 'Principals', isAdmin(session)],
    ['/pauses', 'Pauses', isOperator(session) && optional.pauses],
    ['/metrics', 'Metrics', isOperator(session) && optional.metrics],
  ];
  const active = (to: string) => (to === '/' ? path === '/' : path.startsWith(to) && !(to === '/actions' && /^\/actions\/act_/.test(path)));
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="container top-inner">
          <a class="brand" href={href('/')}>
            Countersign
          </a>
          <nav aria-label="Console">
            <ul>
              {nav
                .filter(([, , show]) => show)
                .map(([to, label]) => (
                  <li key={to}>
                    <a href={href(to)} aria-current={active(to) ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
            </ul>
          </nav>
          <div class="who">
            <span title={`roles: ${session.principal.roles.join(', ')}; groups: ${session.principal.groups.join(', ') || 'none'}`}>{session.principal.name ?? session.principal.id}</span>
            <button type="button" class="link" onClick={() => setKeys(true)} aria-label="Keyboard shortcuts">
              ?
            </button>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" class="container">
        <Page path={path} query={query} session={session} />
      </main>
      {keys ? <KeysDialog onClose={() => setKeys(false)} /> : null}
    </>
  );
}

function Page({ path, query, session }: { path: string; query: URLSearchParams; session: Session }) {
  const action = /^\/actions\/(act_[0-9a-f]+)\/?$/.exec(path);
  if (action) return <ActionPage id={action[1]} />;
  if (path === '/' || path === '') {
    if (!session.principal.roles.includes('reviewer')) {
      return (
        <section>
          <h1>Inbox</h1>
          <p class="empty">You do not hold the reviewer role, so nothing here waits for your decision.{isOperator(session) ? ' See all actions instead.' : ''}</p>
        </section>
      );
    }
    return <InboxPage />;
  }
  if (isOperator(session)) {
    if (/^\/actions\/?$/.test(path)) return <ActionsPage query={query} />;
    if (/^\/policy\/?$/.test(path)) return <PolicyPage />;
    if (/^\/pauses\/?$/.test(path)) return <PausesPage />;
    if (/^\/metrics\/?$/.test(path)) return <MetricsPage />;
  }
  if (isAdmin(session) && /^\/principals\/?$/.test(path)) return <PrincipalsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here for you. <a href={href('/')}>Go to the inbox</a>.
      </p>
    </section>
  );
}
