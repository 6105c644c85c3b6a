import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { MONITORING } from '../alerts/config.js';
import { IDENTITY_VARIABLES, JOB_REGEX } from './queries.js';

/** Every panel and query uses the data source chosen in the `datasource` variable. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Both dashboards carry this tag; each links the others that do, with the variables and time range. */
export const TAG = 'nats-queue-exporter';

export interface Query {
  expr: string;
  legend?: string;
  /** Instant queries for stats and tables, range queries for time series. */
  instant?: boolean;
  table?: boolean;
}

function target(q: Query, refId: string): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(q.expr).refId(refId);
  if (q.legend !== undefined) b.legendFormat(q.legend);
  if (q.table) b.instant().format(prometheus.PromQueryFormat.Table);
  else if (q.instant) b.instant();
  else b.range();
  return b;
}

type AnyPanel = timeseries.PanelBuilder | stat.PanelBuilder | table.PanelBuilder;

function withQueries<P extends AnyPanel>(panel: P, queries: Query[]): P {
  queries.forEach((q, i) => panel.withTarget(target(q, String.fromCharCode(65 + i))));
  return panel;
}

export interface PanelSpec {
  /** Stable: links and saved panel views refer to it. Never reuse one. */
  id: number;
  title: string;
  /** The question the panel answers; shown as the panel's description. */
  answers: string;
  queries: Query[];
  unit?: string;
  thresholds?: Array<[number | null, string]>;
}

function thresholds(steps: Array<[number | null, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps.map(([value, color]) => ({ value, color })));
}

/** 0/1 flags read as words, never as numbers. */
export function flag(zero: string, one: string, zeroColor: string, oneColor: string): dashboard.ValueMapping[] {
  return [{ type: dashboard.MappingType.ValueToText, options: { '0': { text: zero, color: zeroColor }, '1': { text: one, color: oneColor } } }];
}

export const YES_NO = flag('no', 'yes', 'green', 'orange');

/**
 * Lines are drawn across gaps up to the alerts' bridge (an FT takeover or a Raft election leaves a
 * scrape or two without queue series), and broken by longer ones.
 */
const SPAN_GAPS_MS = (() => {
  const m = /^(\d+)m$/.exec(MONITORING.bridge);
  if (!m) throw new Error(`mixin/alerts/config.ts: bridge "${MONITORING.bridge}" must be whole minutes, e.g. "3m"`);
  return Number(m[1]) * 60_000;
})();

export function timeSeries(spec: PanelSpec & { stacked?: boolean }): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .spanNulls(SPAN_GAPS_MS)
    .id(spec.id)
    .title(spec.title)
    .description(spec.answers)
    .datasource(DATASOURCE)
    .unit(spec.unit ?? 'short')
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .calcs(['lastNotNull', 'max']),
    );
  if (spec.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (spec.thresholds) {
    p.thresholds(thresholds(spec.thresholds)).thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return withQueries(p, spec.queries);
}

/**
 * A stat of an instant query: the value now, never the last one seen in the range, so a dead
 * exporter or an old figure shows a red "no data" instead of its last value.
 */
export function singleStat(spec: PanelSpec & { mappings?: dashboard.ValueMapping[]; noValue?: string }): stat.PanelBuilder {
  const noValue = spec.noValue ?? 'no data';
  const p = new stat.PanelBuilder()
    .id(spec.id)
    .title(spec.title)
    .description(spec.answers)
    .datasource(DATASOURCE)
    .unit(spec.unit ?? 'none')
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .noValue(noValue)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .mappings([
      ...(spec.mappings ?? []),
      { type: dashboard.MappingType.SpecialValue, options: { match: dashboard.SpecialValueMatch.NullAndNan, result: { text: noValue, color: 'red' } } },
    ])
    .thresholds(thresholds(spec.thresholds ?? [[null, 'green']]));
  return withQueries(
    p,
    spec.queries.map((q) => ({ ...q, instant: true })),
  );
}

export interface TableSpec extends PanelSpec {
  merge?: boolean;
  /** Per column (by its legend): value mappings and units. */
  columns?: Record<string, { mappings?: dashboard.ValueMapping[]; unit?: string }>;
  /** A link on every cell, with `${__data.fields.LABEL}` for the row's labels. */
  link?: { title: string; url: string };
}

export function instantTable(spec: TableSpec): table.PanelBuilder {
  const p = new table.PanelBuilder()
    .id(spec.id)
    .title(spec.title)
    .description(spec.answers)
    .datasource(DATASOURCE)
    .unit(spec.unit ?? 'none');
  // Instant table queries carry a Time column that says nothing here.
  if (spec.merge) p.withTransformation({ id: 'merge', options: {} });
  // Merged instant queries name their columns "Value #A", "Value #B"...: give them the legends.
  const renameByName = Object.fromEntries(spec.queries.flatMap((q, i) => (q.legend ? [[`Value #${String.fromCharCode(65 + i)}`, q.legend]] : [])));
  p.withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName } });
  for (const [column, c] of Object.entries(spec.columns ?? {})) {
    const properties: dashboard.DynamicConfigValue[] = [];
    if (c.mappings) properties.push({ id: 'mappings', value: c.mappings });
    if (c.unit) properties.push({ id: 'unit', value: c.unit });
    p.overrideByName(column, properties);
  }
  if (spec.link) p.dataLinks([new dashboard.DashboardLinkBuilder(spec.link.title).type(dashboard.DashboardLinkType.Link).url(spec.link.url)]);
  if (spec.thresholds) p.thresholds(thresholds(spec.thresholds));
  return withQueries(
    p,
    spec.queries.map((q) => ({ ...q, table: true })),
  );
}

/** Places panels left to right in rows of 24 grid units; `width` per panel, `height` per row. */
export class Layout {
  #x = 0;
  #y = 0;
  #rowHeight = 0;

  place<P extends AnyPanel>(panel: P, width: number, height: number): P {
    if (this.#x + width > 24) this.newRow();
    panel.gridPos({ x: this.#x, y: this.#y, w: width, h: height });
    this.#x += width;
    this.#rowHeight = Math.max(this.#rowHeight, height);
    return panel;
  }

  row(id: number, title: string): dashboard.RowBuilder {
    this.newRow();
    const row = new dashboard.RowBuilder(title).id(id).gridPos({ x: 0, y: this.#y, w: 24, h: 1 });
    this.#y += 1;
    return row;
  }

  newRow(): void {
    this.#y += this.#rowHeight;
    this.#x = 0;
    this.#rowHeight = 0;
  }
}

export interface VariableSpec {
  name: string;
  label: string;
  query: string;
  multi: boolean;
  /** What "All" sends; `.*` matches the empty value too (a plain durable's group). */
  allValue?: string;
}

function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A label_values() variable; "All" matches every value, the empty one too (`.*`). */
export function labelVariable(spec: VariableSpec): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(spec.name)
    .label(spec.label)
    .datasource(DATASOURCE)
    .query(spec.query)
    .definition(spec.query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(spec.multi)
    .includeAll(true)
    .allValue(spec.allValue ?? '.*');
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Whether server, subject, group and durable take several values (the overview) or one (one queue). */
  multi: boolean;
  /** The series whose subjects the subject variable offers. */
  subjects: string;
}

/**
 * A dashboard of the exporter with its variables: data source, the exporter's scrape jobs ("All"
 * is the configured job matcher), the identity labels that tell deployments apart, then server,
 * subject, group and durable, each narrowed by the ones before it.
 */
export function exporterDashboard(spec: DashboardSpec): dashboard.DashboardBuilder {
  const d = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .tags(['nats', 'nats-streaming', TAG])
    .description(spec.description)
    .readonly()
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .link(dashboardLinks())
    .withVariable(datasourceVariable())
    .withVariable(
      labelVariable({ name: 'job', label: 'Job', query: `label_values(${SERVERS.slice(0, -1)}, job=~"${JOB_REGEX}"}, job)`, multi: true, allValue: JOB_REGEX }),
    );
  const matchers = ['job=~"$job"'];
  const narrowed = (metric: string, label: string): string => {
    const open = metric.endsWith('}') ? `${metric.slice(0, -1)}, ` : `${metric}{`;
    return `label_values(${open}${matchers.join(', ')}}, ${label})`;
  };
  for (const label of IDENTITY_VARIABLES) {
    d.withVariable(labelVariable({ name: label, label: label[0]!.toUpperCase() + label.slice(1), query: narrowed(SERVERS, label), multi: true }));
    matchers.push(`${label}=~"$${label}"`);
  }
  // Servers of both backends, per node; the JetStream accounts other than the default one.
  const queueVariables: Array<[string, string, string]> = [
    ['server', 'Server', SERVERS],
    ['account', 'Account', 'queue_msgs_pending'],
    ['subject', 'Subject', spec.subjects],
    ['group', 'Queue group', 'queue_msgs_pending'],
    ['durable', 'Durable', 'queue_msgs_pending'],
  ];
  for (const [name, label, metric] of queueVariables) {
    d.withVariable(labelVariable({ name, label, query: narrowed(metric, name), multi: spec.multi }));
    matchers.push(`${name}=~"$${name}"`);
  }
  return d;
}

/** The node gauges of both backends: NATS Streaming (stan_up) and JetStream (jetstream_up). */
const SERVERS = '{__name__=~"stan_up|jetstream_up"}';

/** Links to the other dashboards of the exporter, keeping the variables and the time range. */
function dashboardLinks(): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder('NATS queue dashboards')
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags([TAG])
    .asDropdown(false)
    .includeVars(true)
    .keepTime(true);
}
