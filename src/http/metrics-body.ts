import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Writable } from 'node:stream';
import type { ChunkSink } from '../metrics/exposition.js';
import { nodeZlib } from '../node-builtins.js';
import { ClientGoneError } from './client-gone-error.js';

export interface MetricsBody {
  /** Where the exposition goes, chunk by chunk, at the pace the client reads. */
  sink: ChunkSink;
  end(): Promise<void>;
}

/**
 * gzip at its fastest level, for the `gzip` encoding (the status page's JSON, made anew for every
 * request). /metrics makes its own gzip member of cached segments (`gzipped`, gzip-segments.ts).
 */
const GZIP_LEVEL = 1;
/**
 * A `gzip` answer whose first chunk is no larger than this is sent as it is, even when the client
 * accepts gzip: each gzip stream costs a 64 KiB output buffer and objects that outlive the answer
 * until a full GC (npm run footprint; docs/benchmarks.md), to save a few kB on the wire. Larger
 * answers are gzipped as they stream.
 */
const UNZIPPED_BYTES = 64 * 1024;

/** Whether the request's Accept-Encoding takes gzip (an explicit q=0 refuses it). */
export function acceptsGzip(req: Request): boolean {
  return req.acceptsEncodings('gzip') === 'gzip';
}

/**
 * How an answer's body is encoded: `identity`; `gzip`, through a gzip stream when the scraper
 * accepts it and the answer turns out large; `gzipped`, a gzip member the writer made itself
 * (the exposition's cached segments, gzip-segments.ts).
 */
export type BodyEncoding = 'identity' | 'gzip' | 'gzipped';

/**
 * Starts a 200 answer of `contentType` and returns where its body goes: straight to the socket,
 * or through gzip when the scraper accepts it and the answer is large.
 */
export function startAnswerBody(res: ServerResponse, contentType: string, encoding: BodyEncoding): MetricsBody {
  res.statusCode = 200;
  res.setHeader('content-type', contentType);
  res.setHeader('vary', 'Accept-Encoding');
  if (encoding === 'gzipped') res.setHeader('content-encoding', 'gzip');
  const finished = new Promise<void>((resolve, reject) => {
    res.once('finish', resolve);
    res.once('close', () => (res.writableFinished ? resolve() : reject(new ClientGoneError())));
  });
  finished.catch(() => undefined);
  if (encoding !== 'gzip') return streamed(res, res, finished);

  // Decided at the first chunk. An answer that then grows after all stays unzipped: still whole and correct.
  let body: MetricsBody | undefined;
  const bodyFor = (firstChunkBytes: number): MetricsBody => {
    if (body) return body;
    if (firstChunkBytes <= UNZIPPED_BYTES) return (body = streamed(res, res, finished));
    res.setHeader('content-encoding', 'gzip');
    return (body = streamed(res, gzipStream(res), finished));
  };
  return {
    sink: (chunk, written) => bodyFor(chunk.length).sink(chunk, written),
    end: () => bodyFor(0).end(),
  };
}

function gzipStream(res: ServerResponse): Writable {
  const zip = nodeZlib().createGzip({ level: GZIP_LEVEL, memLevel: 9, chunkSize: 64 * 1024 });
  zip.on('error', (err) => res.destroy(err));
  res.on('close', () => zip.destroy());
  zip.pipe(res);
  return zip;
}

/** The body written through `target` (the response, or a gzip stream into it) as chunks come. */
function streamed(res: ServerResponse, target: Writable, finished: Promise<void>): MetricsBody {
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
