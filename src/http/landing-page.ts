import type { Collector } from '../collector.js';
import type { NodeSnapshot, ServerSnapshot } from '../model/types.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function nodeStatus(node: NodeSnapshot | undefined, snapshot: ServerSnapshot | undefined): string {
  if (!node) return 'not scraped yet';
  if (node.failure) return `down (${node.failure.reason}): ${node.failure.message}`;
  const state = `${node.info?.state ?? ''}${node.info?.role ? ` ${node.info.role}` : ''}`;
  return `up: ${state}, ${node.info?.channels ?? 0} channels${snapshot?.owner === node.node ? ', owns the queue figures' : ''}`;
}

export function landingPage(version: string, servers: ReturnType<Collector['lastResults']>): string {
  const rows = servers.flatMap(({ target, result }) => target.nodes.map((t) => {
    const node = result?.nodes.find((n) => n.node === t.node);
    const when = result && node ? `${new Date(result.at).toISOString()} in ${node.durationSeconds.toFixed(3)} s` : '';
    return `<tr><td>${escapeHtml(target.name)}</td><td>${escapeHtml(t.node)}</td><td>${escapeHtml(t.url)}</td><td>${escapeHtml(nodeStatus(node, result))}</td><td>${escapeHtml(when)}</td></tr>`;
  }));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>nats-queue-exporter</title></head>
<body>
<h1>nats-queue-exporter ${escapeHtml(version)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
<table border="1" cellpadding="4">
<tr><th>server</th><th>node</th><th>monitoring URL</th><th>last scrape</th><th>when</th></tr>
${rows.join('\n')}
</table>
</body></html>
`;
}
