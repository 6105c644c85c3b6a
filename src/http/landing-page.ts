import type { Collector } from '../collector.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function landingPage(version: string, servers: ReturnType<Collector['lastResults']>): string {
  const rows = servers.map(({ name, url, result }) => {
    let status = 'not scraped yet';
    if (result?.failure) status = `down (${result.failure.reason}): ${result.failure.message}`;
    else if (result) status = `up: ${result.info?.state ?? ''}${result.info?.role ? ` ${result.info.role}` : ''}, ${result.info?.channels ?? 0} channels`;
    const when = result ? `${new Date(result.at).toISOString()} in ${result.durationSeconds.toFixed(3)} s` : '';
    return `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(url)}</td><td>${escapeHtml(status)}</td><td>${escapeHtml(when)}</td></tr>`;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>nats-queue-exporter</title></head>
<body>
<h1>nats-queue-exporter ${escapeHtml(version)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
<table border="1" cellpadding="4">
<tr><th>server</th><th>monitoring URL</th><th>last scrape</th><th>when</th></tr>
${rows.join('\n')}
</table>
</body></html>
`;
}
