import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel and query uses the data source chosen in the `datasource` variable. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface Query {
  expr: string;
  legend?: string;
  /** Instant table queries for tables; time series otherwise. */
  table?: boolean;
}

function target(q: Query, refId: string): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(q.expr).refId(refId);
  if (q.legend !== undefined) b.legendFormat(q.legend);
  if (q.table) b.instant().format(prometheus.PromQueryFormat.Table);
  else b.range();
  return b;
}

type AnyPanel = timeseries.PanelBuilder | stat.PanelBuilder | table.PanelBuilder;

function withQueries<P extends AnyPanel>(panel: P, queries: Query[]): P {
  queries.forEach((q, i) => panel.withTarget(target(q, String.fromCharCode(65 + i))));
  return panel;
}

export interface PanelSpec {
  title: string;
  /** The question the panel answers; shown as the panel's description. */
  answers: string;
  queries: Query[];
  unit?: string;
}

export function timeSeries(spec: PanelSpec & { stacked?: boolean }): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.answers)
    .datasource(DATASOURCE)
    .unit(spec.unit ?? 'short')
    .fillOpacity(10)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Right).calcs(['lastNotNull', 'max']));
  if (spec.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  return withQueries(p, spec.queries);
}

export function singleStat(spec: PanelSpec & { noValue?: string; mappings?: dashboard.ValueMapping[]; thresholds?: Array<[number | null, string]> }): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(spec.title)
    .description(spec.answers)
    .datasource(DATASOURCE)
    .unit(spec.unit ?? 'short')
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Background)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (spec.noValue !== undefined) p.noValue(spec.noValue);
  if (spec.mappings) p.mappings(spec.mappings);
  const steps = spec.thresholds ?? [[null, 'green']];
  p.thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps.map(([value, color]) => ({ value, color }))));
  return withQueries(p, spec.queries);
}

export function instantTable(spec: PanelSpec & { merge?: boolean }): table.PanelBuilder {
  const p = new table.PanelBuilder().title(spec.title).description(spec.answers).datasource(DATASOURCE).unit(spec.unit ?? 'short');
  // Instant table queries carry a Time column that says nothing here.
  if (spec.merge) p.withTransformation({ id: 'merge', options: {} });
  // Merged instant queries name their columns "Value #A", "Value #B"...: give them the legends.
  const renameByName = Object.fromEntries(spec.queries.flatMap((q, i) => (q.legend ? [[`Value #${String.fromCharCode(65 + i)}`, q.legend]] : [])));
  p.withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName } });
  return withQueries(p, spec.queries.map((q) => ({ ...q, table: true })));
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

  row(title: string): dashboard.RowBuilder {
    this.newRow();
    const row = new dashboard.RowBuilder(title).gridPos({ x: 0, y: this.#y, w: 24, h: 1 });
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
}

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
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
    .allValue('.*');
}
