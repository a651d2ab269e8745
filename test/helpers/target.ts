import http from 'node:http';

/** A request the fake executor target received. */
export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  body: any;
}

/**
 * The executor target: the one thing outside the system, so the one thing the tests fake.
 * `respond` decides each answer; undefined (or no `respond`) is the default, 200 with a JSON receipt.
 */
export async function startTarget(respond?: (req: ReceivedRequest, n: number) => { status: number; body?: unknown; delayMs?: number } | undefined) {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const r: ReceivedRequest = { path: req.url ?? '', headers: req.headers, rawBody: raw, body: raw ? JSON.parse(raw) : null };
      received.push(r);
      const answer = respond?.(r, received.length) ?? { status: 200, body: { receipt: `r-${received.length}` } };
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body ?? {}));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Requests for one action id. */
    forAction: (actionId: string) => received.filter((r) => r.body?.actionId === actionId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
