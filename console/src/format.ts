/** Display helpers: short, plain, the same everywhere. */

/** The value the API shows for a sensitive param. */
export const MASK = '***';

/** A value in one short line. */
export function short(value: unknown, max = 60): string {
  if (value === MASK) return '•••• (hidden)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? '' : text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One line of params: `amount: 500 · currency: EUR · to: acct-1`. */
export function paramsSummary(params: Record<string, unknown>, max = 140): string {
  const line = Object.entries(params)
    .map(([k, v]) => `${k}: ${short(v, 40)}`)
    .join(' · ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Time left until `deadline` as `2h 05m`, `4m 09s`, `12s`, or `overdue`. */
export function timeLeft(deadline: string | null | undefined, now: number): string {
  if (!deadline) return 'no deadline';
  let s = Math.floor((Date.parse(deadline) - now) / 1000);
  if (s <= 0) return 'overdue';
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const p = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${p(m)}m`;
  if (m > 0) return `${m}m ${p(s)}s`;
  return `${s}s`;
}

/** How urgent a deadline is, for its colour. */
export function urgency(deadline: string | null | undefined, now: number): 'calm' | 'soon' | 'urgent' {
  if (!deadline) return 'calm';
  const ms = Date.parse(deadline) - now;
  return ms < 5 * 60_000 ? 'urgent' : ms < 60 * 60_000 ? 'soon' : 'calm';
}

/** A time as the reader's local date and time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A duration in ms as `1h`, `30m`, `2d`. */
export function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** Status words for people. */
export const STATUS_LABEL: Record<string, string> = {
  evaluating: 'Evaluating',
  awaiting_approval: 'Awaiting approval',
  approved: 'Approved',
  executing: 'Executing',
  succeeded: 'Succeeded',
  failed: 'Failed',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

/** The short id people can read aloud: the last 8 hex digits. */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}
