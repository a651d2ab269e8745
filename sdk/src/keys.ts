/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A fresh random idempotency key. */
export function randomIdempotencyKey(): string {
  return `cs-${globalThis.crypto.randomUUID()}`;
}

/**
 * An idempotency key derived from what identifies one logical call (for a tool call: the tool,
 * the call id the model gave it, the arguments). A process that restarts and replays the same
 * call proposes with the same key, so it gets the same action back (still pending, or decided
 * meanwhile) instead of asking the reviewers again.
 *
 * @returns `cs-` and the SHA-256 of the parts' canonical JSON, in hex (67 characters, within the API's 200).
 */
export async function idempotencyKeyFor(...parts: unknown[]): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(parts));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return `cs-${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
