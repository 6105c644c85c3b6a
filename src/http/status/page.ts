/**
 * The status page: a static shell, its style and its script, all served from this origin (the
 * Content-Security-Policy allows nothing else). The script renders /api/v1/queues with
 * textContent only, so every name shows as text, and a page of rows at a time, so 10,000 queues
 * stay quick.
 */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function statusPageHtml(version: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>nats-queue-exporter</title>
<link rel="stylesheet" href="status.css"><script src="status.js" defer></script></head>
<body>
<header><h1>nats-queue-exporter <span class="version">${escapeHtml(version)}</span></h1>
<nav><a href="metrics">/metrics</a> <a href="metrics/detailed">/metrics/detailed</a> <a href="api/v1/queues">/api/v1/queues</a> <a href="healthz">/healthz</a> <a href="readyz">/readyz</a></nav></header>
<main>
<p id="status" role="status">loading api/v1/queues</p>
<noscript><p>This page needs JavaScript; the same data is at <a href="api/v1/queues">/api/v1/queues</a>.</p></noscript>
<div id="summary"></div>
<h2>Servers</h2>
<table id="servers"><thead><tr><th>server</th><th>node</th><th>monitoring URL</th><th>last scrape</th><th>state</th><th>role</th><th>queue figures</th><th class="n">channels</th><th>when</th><th class="n">took</th></tr></thead><tbody></tbody></table>
<h2>Queues</h2>
<div class="controls">
<input id="filter" type="search" placeholder="filter: server, subject, group, durable, verdict" aria-label="filter queues">
<button id="prev" type="button">&#8249; prev</button> <span id="count"></span> <button id="next" type="button">next &#8250;</button>
<label>Prometheus URL for the links <input id="prometheus" type="url" placeholder="http://prometheus:9090"></label>
</div>
<table id="queues"><thead><tr><th>verdict</th><th>to drain</th><th>since</th><th>server</th><th>subject</th><th>group</th><th>durable</th><th class="n">pending</th><th>history</th><th class="n">undelivered</th><th class="n">unacked</th><th class="n">oldest waiting</th><th class="n">members</th><th class="n">stalled</th><th class="n">offline</th><th class="n client">client pending</th><th>why</th></tr></thead><tbody></tbody></table>
</main>
<footer id="promql" hidden><span>PromQL</span> <input id="promql-text" readonly aria-label="PromQL"> <button id="copy" type="button">copy</button> <a id="promql-open" target="_blank" rel="noopener noreferrer">open in Prometheus</a> <button id="promql-close" type="button">close</button></footer>
</body></html>
`;
}

export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --bad: #c62828; --warn: #e65100; --slow: #a86b00; --ok: #2e7d32; --dim: #777; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1rem 4rem; }
header { display: flex; gap: 2rem; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: .6rem 0; } h1 .version { color: var(--dim); font-weight: normal; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
nav a { margin-right: .8rem; }
table { border-collapse: collapse; width: 100%; font-size: .8125rem; }
th, td { padding: .2rem .25rem; border-bottom: 1px solid #8884; text-align: left; vertical-align: top; }
th { font-size: .7rem; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
/* Names stay on one line: cut with an ellipsis (the title has all of it), as wide as the window allows. */
.clip { display: block; max-width: 5vw; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.subject .clip { max-width: 7.5vw; }
#servers .clip { max-width: 12vw; }
#servers td.url .clip { max-width: 16vw; }
.verdict { white-space: nowrap; }
td.why { color: var(--dim); min-width: 12rem; }
#queues.no-client .client { display: none; }
.account { display: block; color: var(--dim); font-size: .85em; }
a.num { color: inherit; text-decoration: underline dotted; }
a.num .verdict { display: inline-block; }
.verdict { font-weight: bold; text-transform: uppercase; font-size: .8rem; padding: .05rem .35rem; border-radius: .2rem; color: #fff; }
.v-stuck, .v-down { background: var(--bad); } .v-offline { background: var(--warn); } .v-growing { background: #ef6c00; }
.v-slow { background: var(--slow); } .v-healthy, .v-up { background: var(--ok); } .v-idle, .v-unknown { background: var(--dim); }
#summary { display: flex; gap: .5rem; flex-wrap: wrap; }
#summary button { font-size: .9rem; cursor: pointer; }
#summary button.active { outline: 2px solid currentColor; }
.controls { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin-bottom: .4rem; }
#filter { min-width: 22rem; }
#status.error { color: var(--bad); font-weight: bold; }
svg.spark { display: block; width: 64px; height: 20px; } svg.spark polyline { fill: none; stroke: currentColor; stroke-width: 1.5; }
footer#promql { position: fixed; left: 0; right: 0; bottom: 0; padding: .5rem 1rem; background: Canvas; border-top: 1px solid #8888; display: flex; gap: .5rem; align-items: center; }
footer#promql[hidden] { display: none; }
#promql-text { flex: 1; font-family: ui-monospace, monospace; }
`;

export const STATUS_PAGE_SCRIPT = `'use strict';
(() => {
  const PAGE_SIZE = 100;
  const REFRESH_MS = 15000;
  const BASE_KEY = 'nats-queue-exporter.prometheus';
  const $ = (id) => document.getElementById(id);
  const state = { doc: null, filter: '', verdict: '', page: 0, base: validBase(stored(() => localStorage.getItem(BASE_KEY)) || '') };

  /** Local storage may be turned off; the page works without it, the URL is just not kept. */
  function stored(use) {
    try {
      return use();
    } catch {
      return null;
    }
  }

  function validBase(text) {
    try {
      const url = new URL(text);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href.replace(/\\/+$/, '') : '';
    } catch {
      return '';
    }
  }

  function el(tag, cls, ...children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    e.append(...children);
    return e;
  }

  function labelValue(text) {
    return '"' + text.replace(/\\\\/g, '\\\\\\\\').replace(/"/g, '\\\\"').replace(/\\n/g, '\\\\n') + '"';
  }

  function promql(template, labels) {
    const selector = '{' + Object.entries(labels).map(([k, v]) => k + '=' + labelValue(v)).join(', ') + '}';
    return template.split('{}').join(selector);
  }

  function prometheusHref(query) {
    return state.base ? state.base + '/graph?g0.tab=0&g0.expr=' + encodeURIComponent(query) : '#promql';
  }

  function showQuery(query) {
    $('promql-text').value = query;
    const open = $('promql-open');
    open.hidden = !state.base;
    open.href = prometheusHref(query);
    $('promql').hidden = false;
    $('promql-text').select();
  }

  /** A figure (text or an element) that links to its series. */
  function figure(content, query) {
    const a = el('a', 'num', typeof content === 'object' ? content : String(content));
    a.href = prometheusHref(query);
    a.title = query;
    if (state.base) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
    a.addEventListener('click', (ev) => {
      showQuery(query);
      if (!state.base) ev.preventDefault();
    });
    return a;
  }

  /** A name on one line, cut with an ellipsis when long; the whole name in its title. */
  function clip(text) {
    const span = el('span', 'clip', text);
    span.title = text;
    return span;
  }

  function cell(content, cls) {
    return el('td', cls, ...(content === null || content === undefined ? [] : [content]));
  }

  function badge(word) {
    return el('span', 'verdict v-' + word, word);
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    return Math.round(s / 3600) + ' h';
  }

  function ago(iso) {
    return duration((Date.now() - Date.parse(iso)) / 1000);
  }

  /** exact, ~estimated, or at least. */
  function age(oldest) {
    if (oldest === null) return null;
    return (oldest.kind === 'estimated' ? '~' : oldest.kind === 'at_least' ? '\u2265 ' : '') + duration(oldest.seconds);
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour12: false });
  }

  function sparkline(values) {
    const svgNs = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 64 20');
    const known = values.filter((v) => v !== null);
    const max = Math.max(1, ...known);
    const step = values.length > 1 ? 64 / (values.length - 1) : 0;
    const points = [];
    values.forEach((v, i) => { if (v !== null) points.push((i * step).toFixed(1) + ',' + (19 - (v / max) * 18).toFixed(1)); });
    const line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    svg.append(line);
    const title = document.createElementNS(svgNs, 'title');
    title.textContent = 'pending over the last ' + known.length + ' collections: ' + known.join(', ');
    svg.append(title);
    return svg;
  }

  function ownerText(s, n) {
    if (n.owner) return s.ownerConflict ? 'from this node (another claims them too)' : 'from this node';
    if (s.owner === null && s.lastScrape) return 'none: no node owns them';
    return '';
  }

  function renderServers(doc) {
    const q = doc.promql.server;
    const rows = doc.servers.flatMap((s) => s.nodes.map((n) => {
      const labels = { server: s.name, node: n.node };
      const b = q[s.backend];
      const status = n.up === null ? badge('unknown') : figure(badge(n.up ? 'up' : 'down'), promql(b.up, labels));
      const result = el('span', '', status);
      if (n.error) result.append(' ' + n.error.reason + ': ' + n.error.message);
      const owner = ownerText(s, n);
      return el('tr', n.up === false ? 'down' : '',
        cell(clip(s.name), 'name'), cell(clip(n.node), 'name'), cell(clip(n.url), 'name url'), cell(result),
        cell(n.state ? figure(n.state, promql(b.info, labels)) : null), cell(n.role ? figure(n.role, promql(b.info, labels)) : null),
        cell(owner ? figure(owner, promql(s.ownerConflict ? q.ownerConflict : q.ownerUp, { server: s.name })) : null),
        cell(n.channels === null ? null : figure(n.channels, promql(b.channels, labels)), 'n'),
        cell(s.lastScrape ? clock(s.lastScrape) + ' (' + ago(s.lastScrape) + ' ago)' : 'not scraped yet'),
        cell(n.durationSeconds === null ? null : figure(n.durationSeconds.toFixed(3) + ' s', promql(q.durationSeconds, labels)), 'n'));
    }));
    $('servers').tBodies[0].replaceChildren(...rows);
  }

  function renderSummary(doc) {
    const counts = new Map(doc.verdicts.map((v) => [v, 0]));
    for (const row of doc.queues) counts.set(row.verdict, counts.get(row.verdict) + 1);
    const buttons = doc.verdicts.map((v) => {
      const b = el('button', state.verdict === v ? 'active' : '', badge(v), ' ' + counts.get(v));
      b.type = 'button';
      b.addEventListener('click', () => { state.verdict = state.verdict === v ? '' : v; state.page = 0; render(); });
      return b;
    });
    $('summary').replaceChildren(...buttons);
  }

  function matching(doc) {
    const words = state.filter.toLowerCase().split(/\\s+/).filter(Boolean);
    return doc.queues.filter((r) => {
      if (state.verdict && r.verdict !== state.verdict) return false;
      if (words.length === 0) return true;
      const text = (r.server + ' ' + (r.account || '') + ' ' + r.subject + ' ' + r.group + ' ' + r.durable + ' ' + r.verdict).toLowerCase();
      return words.every((w) => text.includes(w));
    });
  }

  /** The time to drain at the window's rates, which its title gives. */
  function drain(r) {
    const text = r.drainSeconds === null ? '\u2014' : r.drainSeconds === 'growing' ? '\u221e (growing)' : r.drainSeconds === 0 ? '0' : duration(r.drainSeconds);
    const span = el('span', '', text);
    if (r.rates) span.title = r.rates.acked.toFixed(2) + ' acked and ' + r.rates.published.toFixed(2) + ' published a second over ' + Math.round(r.rates.windowSeconds) + ' s';
    return span;
  }

  function queueRow(r, q) {
    const labels = { server: r.server, subject: r.subject, group: r.group, durable: r.durable };
    if (r.account !== null) labels.account = r.account;
    const subject = el('span', '', clip(r.subject));
    if (r.account !== null) subject.append(el('span', 'account', clip('account ' + r.account)));
    const f = (value, key) => cell(value === null ? null : figure(value, promql(q[key], labels)), 'n');
    const since = el('span', '', clock(r.since) + ' (' + ago(r.since) + ')');
    since.title = r.since;
    return el('tr', 'q-' + r.verdict,
      cell(figure(badge(r.verdict), promql(q.delivery, labels))), cell(drain(r), 'drain'), cell(since),
      cell(clip(r.server), 'name'), cell(subject, 'name subject'), cell(clip(r.group), 'name'), cell(clip(r.durable), 'name'),
      f(r.pending, 'pending'), cell(sparkline(r.pendingHistory)), f(r.undelivered, 'undelivered'), f(r.unacked, 'unacked'), f(age(r.oldestAge), 'oldestAge'),
      f(r.members, 'members'), f(r.stalledMembers, 'stalledMembers'), f(r.offline ? 1 : 0, 'offline'),
      cell(r.clientPending === null ? null : figure(r.clientPending, promql(q.clientPending, labels)), 'n client'), cell(r.why, 'why'));
  }

  function renderQueues(doc) {
    const rows = matching(doc);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const first = state.page * PAGE_SIZE;
    const shown = rows.slice(first, first + PAGE_SIZE);
    $('queues').tBodies[0].replaceChildren(...shown.map((r) => queueRow(r, doc.promql.queue)));
    // Only a sidecar's workers report what they hold: without reports the column is left out.
    $('queues').classList.toggle('no-client', !doc.queues.some((r) => r.clientPending !== null));
    $('count').textContent = rows.length === 0 ? 'no queue matches'
      : (first + 1) + '-' + (first + shown.length) + ' of ' + rows.length + (rows.length === doc.queues.length ? '' : ' matching (' + doc.queues.length + ' in all)');
    $('prev').disabled = state.page === 0;
    $('next').disabled = state.page >= pages - 1;
  }

  function render() {
    const doc = state.doc;
    if (!doc) return;
    const started = performance.now();
    const when = doc.collectedAt ? 'collected ' + clock(doc.collectedAt) + ' (' + ago(doc.collectedAt) + ' ago)' : 'nothing collected yet';
    $('status').textContent = when + ', ' + doc.queues.length + ' queues, worst first; refreshes every ' + REFRESH_MS / 1000 + ' s';
    $('status').className = '';
    renderSummary(doc);
    renderServers(doc);
    renderQueues(doc);
    document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
    document.body.dataset.collectedAt = doc.collectedAt || '';
  }

  async function load() {
    const started = performance.now();
    try {
      const res = await fetch('api/v1/queues', { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error('api/v1/queues answered ' + res.status);
      state.doc = await res.json();
      document.body.dataset.loadMs = (performance.now() - started).toFixed(1);
      render();
      // From navigation to the first page of rows on screen.
      document.body.dataset.readyMs ??= performance.now().toFixed(1);
    } catch (err) {
      $('status').textContent = 'could not load api/v1/queues: ' + err.message + ' (the figures below, if any, are old)';
      $('status').className = 'error';
    }
  }

  $('filter').addEventListener('input', (ev) => { state.filter = ev.target.value; state.page = 0; render(); });
  $('prev').addEventListener('click', () => { state.page -= 1; render(); });
  $('next').addEventListener('click', () => { state.page += 1; render(); });
  $('prometheus').value = state.base;
  $('prometheus').addEventListener('change', (ev) => {
    state.base = validBase(ev.target.value);
    ev.target.value = state.base;
    stored(() => (state.base ? localStorage.setItem(BASE_KEY, state.base) : localStorage.removeItem(BASE_KEY)));
    render();
  });
  $('copy').addEventListener('click', () => {
    const text = $('promql-text').value;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => undefined);
    $('promql-text').select();
  });
  $('promql-close').addEventListener('click', () => { $('promql').hidden = true; });
  load();
  setInterval(load, REFRESH_MS);
})();
`;
