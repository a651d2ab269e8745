/**
 * The console's routes under /console, with the History API (no router library: five pages).
 * Links are ordinary <a href> elements; clicks on them are caught here.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';

/** The path below /console: `/`, `/actions/act_…`, `/policy`, … */
function current(): string {
  const p = window.location.pathname.replace(/^\/console/i, '') || '/';
  return p;
}

const listeners = new Set<() => void>();

/** Go to a console path (`/actions/act_…`), adding a history entry. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = to.startsWith(BASE) ? to : BASE + (to === '/' ? '' : to);
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.scrollTo(0, 0);
  listeners.forEach((l) => l());
}

window.addEventListener('popstate', () => listeners.forEach((l) => l()));

// Same-origin links inside the console navigate without a reload.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || !/^\/console(\/|$)/.test(url.pathname) || /^\/console\/sign-in/.test(url.pathname)) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

/** The current console path and query, re-rendering on navigation. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return { path: current(), query: new URLSearchParams(window.location.search) };
}

/** A link to a console path. */
export function href(to: string): string {
  return BASE + (to === '/' ? '' : to);
}
