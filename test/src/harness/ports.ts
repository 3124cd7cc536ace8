import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * A port for a process that must be told its port before it starts. Taken outside the
 * system's ephemeral range: every other server in the suite listens on port 0, and the
 * system hands those out from the ephemeral range, so none of them can take this port
 * in the seconds before the process binds it.
 */
export async function portsOutsideEphemeralRange(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await portOutsideEphemeralRange());
  return [...ports];
}

async function portOutsideEphemeralRange(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const [first, last] = range.trim().split(/\s+/).map(Number) as [number, number];
  // Below the range when there is room there, else above it.
  const [low, high] = first > 11_000 ? [10_000, first] : [last + 1, 65_536];
  if (!(high - low >= 1_000)) throw new Error(`no room outside the ephemeral port range ${range.trim()}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${high} after 100 tries`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
