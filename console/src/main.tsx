import { render } from 'preact';
import { prefetch } from './api';
import { App } from './app';
import { INBOX_FIRST_PAGE } from './pages/inbox';
import './styles.css';

// The inbox's first page is asked for together with the session, not after it.
if (/^\/console\/?$/.test(window.location.pathname)) prefetch(INBOX_FIRST_PAGE);

render(<App />, document.getElementById('app') as HTMLElement);
