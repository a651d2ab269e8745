import { render } from 'preact';
import { prefetch } from './api';
import { App } from './app';
import { INBOX_FIRST_PAGE } from './pages/inbox';
import './styles.css';

// The inbox's first page is asked for together with the session, not after it (only when a
// session cookie pair is there: a signed-out visit goes straight to the sign-in page).
if (/^\/console\/?$/.test(window.location.pathname) && document.cookie.includes('countersign_csrf=')) prefetch(INBOX_FIRST_PAGE);

render(<App />, document.getElementById('app') as HTMLElement);
