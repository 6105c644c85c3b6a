import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RunningExporter } from '../../src/exporter.js';
import { launchChromium } from '../../harness/browser.js';
import { startTestExporter } from '../../harness/exporter.js';
import { closeStan, connectStan, publishMany, ready, type Stan } from '../../harness/stan-client.js';
import { startStan, type StanServer } from '../../harness/stan-server.js';

// Names as long as real ones get: each longer than its column.
const SUBJECT = 'ORDERS.fulfilment.europe-west.priority-express.v2';
const GROUP = 'order-fulfilment-workers-europe-west-express';
const DURABLE = 'fulfilment-archive-durable-europe-west-primary';
const SERVER = 'production-streaming-europe-west-primary';

interface Layout {
  viewport: number;
  scrollWidth: number;
  tables: Array<{ id: string; right: number }>;
  why: Array<{ left: number; right: number; width: number }>;
  nameCells: number;
  names: Array<{ text: string; title: string; lines: number; cut: boolean; whiteSpace: string; textOverflow: string }>;
  sparks: Array<{ width: number; height: number }>;
}

/** Measured in the page; this file is compiled without the DOM's types. */
const MEASURE = `(() => {
  const box = (e) => e.getBoundingClientRect();
  // The line boxes the text takes (an ellipsis splits a line into more than one rectangle).
  const lines = (e) => { const r = document.createRange(); r.selectNodeContents(e); return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size; };
  return {
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    tables: [...document.querySelectorAll('table')].map((t) => ({ id: t.id, right: box(t).right })),
    why: [...document.querySelectorAll('#queues td.why')].map((e) => ({ left: box(e).left, right: box(e).right, width: box(e).width })),
    nameCells: document.querySelectorAll('td.name').length,
    names: [...document.querySelectorAll('td.name .clip')].map((e) => ({
      text: e.textContent, title: e.title, lines: lines(e), cut: e.scrollWidth > e.clientWidth,
      whiteSpace: getComputedStyle(e).whiteSpace, textOverflow: getComputedStyle(e).textOverflow,
    })),
    sparks: [...document.querySelectorAll('svg.spark')].map((e) => ({ width: box(e).width, height: box(e).height })),
  };
})()`;

describe('the status page at 1,280 to 1,920 px wide', () => {
  let stan: StanServer;
  let exporter: RunningExporter;
  let browser: Browser;
  const clients: Stan[] = [];

  before(async () => {
    stan = await startStan({ clusterId: 'layout' });
    exporter = await startTestExporter(['--server', `${SERVER}=${stan.monitorUrl}`, '--probe-listen', 'off']);
    browser = await launchChromium();
    const publisher = await connectStan(stan.natsUrl, stan.clusterId, 'publisher');
    const workers = await connectStan(stan.natsUrl, stan.clusterId, 'workers');
    clients.push(publisher, workers);
    // A member that takes 4 and never acks: stuck, with the longest sentence in "why".
    const opts = workers.subscriptionOptions().setManualAckMode(true).setMaxInFlight(4).setAckWait(60_000).setDurableName(DURABLE);
    await ready(workers.subscribe(SUBJECT, GROUP, opts));
    await ready(workers.subscribe('short', 'g', workers.subscriptionOptions()));
    await publishMany(publisher, SUBJECT, 30);
    await publishMany(publisher, 'short', 3);
    // Three collections: the page's first look, then two scrapes.
    assert.equal((await fetch(`${exporter.url}/api/v1/queues`)).status, 200);
    await publishMany(publisher, SUBJECT, 10);
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${exporter.url}/metrics`)).status, 200);
  });
  after(async () => {
    await browser?.close();
    for (const sc of clients) await closeStan(sc);
    await exporter?.close();
    await stan?.stop();
  });

  for (const width of [1280, 1400, 1920]) {
    test(`${width} px: names on one line, cut with an ellipsis and whole in their title; no sideways scrolling; "why" on screen; sparklines at least 60 x 16`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      await page.goto(`${exporter.url}/`);
      await page.waitForSelector('body[data-collected-at]');
      const layout = (await page.evaluate(MEASURE)) as Layout;
      await context.close();

      assert.ok(layout.scrollWidth <= layout.viewport, `the page is ${layout.scrollWidth} px wide in a ${layout.viewport} px window`);
      for (const table of layout.tables) assert.ok(table.right <= layout.viewport, `#${table.id} ends at ${table.right} px`);
      assert.equal(layout.why.length, 2);
      for (const why of layout.why) assert.ok(why.right <= layout.viewport && why.width >= 180, `"why" spans ${why.left}-${why.right} px`);
      assert.ok(layout.nameCells >= 7 && layout.names.length >= layout.nameCells, `${layout.names.length} names in ${layout.nameCells} name cells`);
      for (const name of layout.names) {
        assert.equal(name.lines, name.text === '' ? 0 : 1, `"${name.text}" breaks over ${name.lines} lines`);
        assert.equal(name.title, name.text);
        assert.equal(name.whiteSpace, 'nowrap');
        assert.equal(name.textOverflow, 'ellipsis');
      }
      const cut = layout.names.filter((n) => n.cut).map((n) => n.text);
      for (const long of [SUBJECT, GROUP, DURABLE, SERVER])
        assert.ok(width > 1280 || cut.includes(long), `${long} is cut at ${width} px: ${JSON.stringify(cut)}`);
      assert.equal(layout.sparks.length, 2);
      for (const spark of layout.sparks) assert.ok(spark.width >= 60 && spark.height >= 16, `a sparkline of ${spark.width} x ${spark.height} px`);
    });
  }

  test('the time to drain shows beside the verdict, with its rates in the title', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${exporter.url}/`);
    await page.waitForSelector('body[data-collected-at]');
    const columns = await page.locator('#queues thead th').allTextContents();
    assert.deepEqual(columns.slice(0, 3), ['verdict', 'to drain', 'since']);
    const drains = await page.locator('#queues tbody td.drain').allTextContents();
    // The stuck queue gained 10 and acked none; the other had nothing left after the first look.
    assert.deepEqual(drains, ['\u221e (growing)', '0']);
    assert.match(
      (await page.locator('#queues tbody td.drain span').first().getAttribute('title')) ?? '',
      /^0\.00 acked and \d+\.\d\d published a second over \d+ s$/,
    );
    await context.close();
  });
});
