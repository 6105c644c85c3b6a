import type { Server } from 'node:http';
import { boundUrl } from '../bound-url.js';
import { ListenError, type ListenInput } from '../listen-error.js';
import { createProbeServer, type ProbeListenerDeps } from './listener.js';

export interface RunningProbeListener {
  /** http://host:port of the probe listener. */
  url: string;
  close(): Promise<void>;
}

/** Starts the probe listener on `address`, given by `input` (--probe-listen or its variable). */
export async function startProbeListener(address: { host: string; port: number }, input: ListenInput, deps: ProbeListenerDeps): Promise<RunningProbeListener> {
  const server: Server = createProbeServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(input, address, err)));
    server.listen(address.port, address.host, () => resolve());
  });
  return {
    url: boundUrl('http', server),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Reports are small and workers retry: nothing in flight is worth waiting for.
        server.closeAllConnections();
      }),
  };
}
