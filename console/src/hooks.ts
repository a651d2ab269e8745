import { useEffect, useRef, useState } from 'preact/hooks';

/** The current time, updated every second by one shared timer (for countdowns). */
const tickers = new Set<(now: number) => void>();
let timer: number | undefined;
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    tickers.add(setNow);
    timer ??= window.setInterval(() => {
      const t = Date.now();
      tickers.forEach((f) => f(t));
    }, 1000);
    return () => {
      tickers.delete(setNow);
      if (tickers.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return now;
}

/**
 * Whether a pending call has taken longer than `ms`: a loading note appears only then, so a fast
 * answer never flashes one, and none stays longer than the call behind it.
 */
export function useSlow(pending: boolean, ms = 300): boolean {
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    if (!pending) {
      setSlow(false);
      return;
    }
    const t = window.setTimeout(() => setSlow(true), ms);
    return () => clearTimeout(t);
  }, [pending, ms]);
  return pending && slow;
}

/** Load something when `deps` change; `reload` loads again. Stale answers are dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data?: T; error?: Error; pending: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; pending: boolean }>({ pending: true });
  const [n, setN] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const ctl = new AbortController();
    const mine = ++latest.current;
    setState((s) => ({ ...s, pending: true }));
    load(ctl.signal).then(
      (data) => mine === latest.current && setState({ data, pending: false }),
      (error: Error) => mine === latest.current && error.name !== 'AbortError' && setState((s) => ({ data: s.data, error, pending: false })),
    );
    return () => ctl.abort();
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** Keyboard shortcuts while no text field has focus. */
export function useKeys(map: Record<string, (e: KeyboardEvent) => void>, deps: unknown[]): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      if (document.querySelector('dialog[open]') && e.key !== '?') return;
      const f = map[e.key];
      if (f) {
        e.preventDefault();
        f(e);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, deps);
}
