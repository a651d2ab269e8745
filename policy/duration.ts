/**
 * Durations in policy bundles: `30s`, `15m`, `4h`, `2d`, or combinations in descending
 * order without spaces (`1h30m`, `2d12h`). Written as text so a reviewer reading YAML
 * never has to count zeros of milliseconds.
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION_RE = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Human-readable description of the accepted syntax, used in error hints. */
export const DURATION_SYNTAX_HINT = 'write a positive duration with a unit: 30s, 15m, 4h, 2d, or combined like 1h30m';

/**
 * Parse a policy duration into milliseconds.
 *
 * @returns the duration in ms, or `undefined` when the text is not a valid positive duration.
 */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 32) return undefined;
  const match = DURATION_RE.exec(text);
  if (!match) return undefined;
  const [, d, h, m, s] = match;
  const ms =
    Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
