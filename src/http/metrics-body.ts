import type { Response } from 'express';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ChunkSink } from '../metrics/exposition.js';

/** Whether an Accept-Encoding header accepts gzip (an explicit q=0 refuses it). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (coding === 'gzip' || coding === 'x-gzip') gzip = q;
    else if (coding === '*') any = q;
  }
  const q = gzip ?? any ?? 0;
  return Number.isFinite(q) && q > 0;
}

/** Resolves when `stream` can take more, rejects when it closes or fails first. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the client closed the connection'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', done);
  });
}

export interface MetricsBody {
  /** Where the exposition goes, chunk by chunk, at the pace the client reads. */
  sink: ChunkSink;
  end(): Promise<void>;
}

/**
 * Starts a 200 answer of `contentType` and returns where its body goes: straight to the socket,
 * or through gzip (fastest level: the answer is large and made anew for every scrape).
 */
export function startMetricsBody(res: Response, contentType: string, gzip: boolean): MetricsBody {
  res.status(200).type(contentType);
  res.vary('Accept-Encoding');
  let target: Writable = res;
  if (gzip) {
    res.setHeader('Content-Encoding', 'gzip');
    const zip = createGzip({ level: 1 });
    zip.on('error', (err) => res.destroy(err));
    res.on('close', () => zip.destroy());
    zip.pipe(res);
    target = zip;
  }
  const finished = new Promise<void>((resolve, reject) => {
    res.once('finish', resolve);
    res.once('close', () => (res.writableFinished ? resolve() : reject(new Error('the client closed the connection'))));
  });
  finished.catch(() => undefined);
  return {
    sink: (chunk) => (target.write(chunk) ? undefined : drained(target)),
    end: () => {
      target.end();
      return finished;
    },
  };
}
