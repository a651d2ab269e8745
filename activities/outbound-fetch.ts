/**
 * The limits every call Countersign makes to a URL from a policy bundle (executor targets,
 * webhooks) keeps: it does not follow redirects, and it reads at most a fixed number of bytes of
 * the answer. A target is outside the system: one that redirects could send a signed request to
 * an address the bundle never named, and one that answers without end could fill the worker's
 * memory (or hold the call until its timeout).
 */

/** How many bytes of an answer's body are read by default (`COUNTERSIGN_FETCH_MAX_BYTES`). @default 1 MiB */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;

/** Whether an answer is a redirect (3xx), which outbound calls never follow. */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** `fetch` options that every outbound call sets: redirects come back as the 3xx answer itself. */
export const NO_REDIRECTS = { redirect: 'manual' } as const satisfies RequestInit;

/** The part of an answer's body that was read. */
export interface BoundedBody {
  bytes: Buffer;
  /** True when the body went on past `maxBytes`: the rest was not read, and the connection was closed. */
  truncated: boolean;
}

/**
 * Read an answer's body as a stream, at most `maxBytes` of it: past that, stop and cancel the
 * rest (which closes the connection), so memory and time spent on one answer stay bounded
 * whatever the target sends. The fetch's abort signal (its timeout) still covers the reading.
 */
export async function readBoundedBody(res: Response, maxBytes: number): Promise<BoundedBody> {
  if (!res.body) return { bytes: Buffer.alloc(0), truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks), truncated: false };
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      await reader.cancel().catch(() => undefined);
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

/** Drop an answer's body unread (a redirect's): the connection is closed rather than drained. */
export async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}
