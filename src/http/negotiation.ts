import type { ExpositionFormat } from '../metrics/exposition.js';

/**
 * The quality of each value of an Accept or Accept-Encoding header, lower-cased and without its
 * parameters ("text/plain;version=0.0.4;q=0.5" counts as text/plain at 0.5); the highest wins
 * when a value repeats, and values with an unreadable q are left out.
 */
function qualities(header: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const part of header.split(',')) {
    const [value = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (value === '' || !Number.isFinite(q)) continue;
    found.set(value, Math.max(found.get(value) ?? 0, q));
  }
  return found;
}

/**
 * Picks OpenMetrics only when the Accept header names it with a higher quality than the text
 * format (Prometheus sends both, OpenMetrics first); browsers and curl get the text format.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  const q = qualities(accept);
  const openMetrics = q.get('application/openmetrics-text') ?? 0;
  return openMetrics > 0 && openMetrics > (q.get('text/plain') ?? 0) ? 'openmetrics' : 'text';
}

/** Whether an Accept-Encoding header accepts gzip (an explicit q=0 refuses it). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  const q = qualities(acceptEncoding);
  return (q.get('gzip') ?? q.get('x-gzip') ?? q.get('*') ?? 0) > 0;
}
