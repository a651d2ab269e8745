/** Free loopback ports for the processes a test or a script starts (no test-runner imports). */
import net from 'node:net';

/** A port nobody listens on right now (the OS picks it; released before use). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/**
 * `n` distinct ports nobody listens on right now. All are held open until each is known: picked
 * one after another (each released before the next), the OS may hand out the same port twice,
 * and a stack whose API and Postgres share one never comes up.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
