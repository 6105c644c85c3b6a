import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ChunkSink } from '../metrics/exposition.js';
import { ClientGoneError } from './client-gone-error.js';

export interface MetricsBody {
  /** Where the exposition goes, chunk by chunk, at the pace the client reads. */
  sink: ChunkSink;
  end(): Promise<void>;
}

/**
 * Starts a 200 answer of `contentType` and returns where its body goes: straight to the socket,
 * or through gzip (fastest level: the answer is large and made anew for every scrape).
 */
export function startMetricsBody(res: ServerResponse, contentType: string, gzip: boolean): MetricsBody {
  res.statusCode = 200;
  res.setHeader('content-type', contentType);
  res.setHeader('vary', 'Accept-Encoding');
  let target: Writable = res;
  if (gzip) {
    res.setHeader('content-encoding', 'gzip');
    const zip = createGzip({ level: 1, memLevel: 9, chunkSize: 64 * 1024 });
    zip.on('error', (err) => res.destroy(err));
    res.on('close', () => zip.destroy());
    zip.pipe(res);
    target = zip;
  }
  const finished = new Promise<void>((resolve, reject) => {
    res.once('finish', resolve);
    res.once('close', () => (res.writableFinished ? resolve() : reject(new ClientGoneError())));
  });
  finished.catch(() => undefined);
  // Writes still waiting when the client goes away are reported as failed, so rendering stops.
  const waiting = new Set<(err?: Error | null) => void>();
  res.once('close', () => {
    if (res.writableFinished) return;
    const gone = new ClientGoneError();
    for (const written of waiting) written(gone);
    waiting.clear();
  });
  return {
    sink: (chunk, written) => {
      if (res.destroyed) {
        written(new ClientGoneError());
        return;
      }
      const once = (err?: Error | null) => {
        if (waiting.delete(once)) written(err && !(err instanceof ClientGoneError) ? new ClientGoneError(err) : err);
      };
      waiting.add(once);
      target.write(chunk, once);
    },
    end: () => {
      target.end();
      return finished;
    },
  };
}
