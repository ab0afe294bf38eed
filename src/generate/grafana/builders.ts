/**
 * Small typed builders from dashboard specs (rows of panels of PromQL targets) to Grafana
 * dashboard JSON. They own every convention, so the dashboard files only say what to show:
 * the `datasource`/`job`/`instance`/`agent` variables, stable uids, tags and cross-links,
 * unique panel ids in document order, a 24-column grid layout, refIds, the pinned
 * `schemaVersion`, exemplars on latency panels and the do-not-edit banner.
 */
import { agentDuration, buildInfo } from '../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../config.js';
import { labelValues, re, type LabelMatcher } from '../promql.js';
import type {
  Dashboard, DataSourceRef, FieldConfigSource, Panel, PanelType, PrometheusTarget, QueryVariable, RowPanel, ThresholdStep, ValueMapping,
  Variable,
} from './types.js';

/** The dashboard JSON schema version the files are written for (Grafana 10.4 / 11 read it and migrate up). */
export const SCHEMA_VERSION = 39;
/** Every panel and target queries the data source picked in the `datasource` variable. */
export const DATASOURCE: DataSourceRef = Object.freeze({ type: 'prometheus', uid: '${datasource}' });
const GRID_WIDTH = 24;

/** One query of a panel. */
export interface TargetSpec {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{gen_ai_tool_name}}`. @default '__auto' */
  readonly legend?: string;
  /** Show exemplars (trace links): set on latency (histogram) queries. @default false */
  readonly exemplar?: boolean;
}

/** One panel. */
export interface PanelSpec {
  readonly title: string;
  /** What the panel shows and how to read it (shown as the panel's info tooltip). */
  readonly description: string;
  /** @default 'timeseries' */
  readonly type?: PanelType;
  /** Grafana unit id: `s`, `percentunit`, `reqps`, `ops`, `short`, `bytes`, `none`… @default 'short' */
  readonly unit?: string;
  /** Grid columns out of 24. @default 8 */
  readonly width?: number;
  /** Grid rows. @default 8 (stat panels 4) */
  readonly height?: number;
  readonly targets: readonly TargetSpec[];
  readonly min?: number;
  readonly max?: number;
  readonly decimals?: number;
  /** Stack the series (timeseries). @default false */
  readonly stacked?: boolean;
  readonly thresholds?: readonly ThresholdStep[];
  readonly mappings?: readonly ValueMapping[];
}

/** A titled row of panels. */
export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** A dashboard, before the conventions are applied. */
export interface DashboardSpec {
  /** File and uid suffix: `agent-overview` → `dashboards/agent-overview.json`, uid `agentobs-agent-overview`. */
  readonly name: string;
  readonly title: string;
  /** One line on what the dashboard is for (the banner follows it in `description`). */
  readonly summary: string;
  readonly rows: readonly RowSpec[];
  /** Query variables after the standard four (e.g. `slo`). */
  readonly variables?: readonly VariableSpec[];
}

/** An extra multi-value query variable ("All" selected). */
export interface VariableSpec {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  /** A Grafana Prometheus variable query, e.g. `label_values(metric, label)`. */
  readonly query: string;
  /** Regex used for "All". @default '.+' */
  readonly allValue?: string;
}

/** The matchers every panel query carries: the config selector and the `job`/`instance` variables. */
export function scope(config: Pick<ResolvedGenerateConfig, 'selector'>): readonly LabelMatcher[] {
  return [...config.selector, re('job', '$job'), re('instance', '$instance')];
}

/** The `agent` variable as a matcher, for entries with a `gen_ai_agent_name` label. */
export const AGENT_MATCHER = re('gen_ai_agent_name' as const, '$agent');

/** Green/amber/red steps for ratios where higher is worse. */
export function badAbove(warn: number, crit: number): readonly ThresholdStep[] {
  return [
    { color: 'green', value: null },
    { color: 'orange', value: warn },
    { color: 'red', value: crit },
  ];
}

function fieldConfig(p: PanelSpec): FieldConfigSource {
  const type = p.type ?? 'timeseries';
  const custom: Record<string, unknown> =
    type === 'timeseries'
      ? {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: p.stacked === true ? 30 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: p.stacked === true ? 'normal' : 'none', group: 'A' },
        }
      : type === 'state-timeline'
        ? { fillOpacity: 80, lineWidth: 0 }
        : {};
  return {
    defaults: {
      unit: p.unit ?? 'short',
      ...(p.min === undefined ? {} : { min: p.min }),
      ...(p.max === undefined ? {} : { max: p.max }),
      ...(p.decimals === undefined ? {} : { decimals: p.decimals }),
      color: { mode: p.thresholds !== undefined || p.mappings !== undefined ? 'thresholds' : 'palette-classic' },
      thresholds: { mode: 'absolute', steps: p.thresholds ?? [{ color: 'green', value: null }] },
      ...(p.mappings === undefined ? {} : { mappings: p.mappings }),
      custom,
    },
    overrides: [],
  };
}

function options(type: PanelType): Record<string, unknown> {
  switch (type) {
    case 'timeseries':
      return { legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] }, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      };
    case 'state-timeline':
      return { showValue: 'auto', mergeValues: true, rowHeight: 0.9, alignValue: 'left', legend: { displayMode: 'list', placement: 'bottom', showLegend: true } };
  }
}

function refId(i: number): string {
  return String.fromCharCode(65 + i);
}

function target(t: TargetSpec, i: number): PrometheusTarget {
  return {
    refId: refId(i),
    datasource: DATASOURCE,
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    range: true,
    instant: false,
    exemplar: t.exemplar === true,
    editorMode: 'code',
  };
}

function queryVariable(name: string, label: string, description: string, query: string, allValue: string): QueryVariable {
  return {
    type: 'query',
    name,
    label,
    description,
    datasource: DATASOURCE,
    query,
    definition: query,
    refresh: 2,
    regex: '',
    sort: 1,
    hide: 0,
    multi: true,
    includeAll: true,
    allValue,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    skipUrlSync: false,
  };
}

/** The four variables every dashboard has. */
export function standardVariables(config: Pick<ResolvedGenerateConfig, 'selector'>): Variable[] {
  const job = re('job', '$job');
  const instance = re('instance', '$instance');
  return [
    {
      type: 'datasource',
      name: 'datasource',
      label: 'Data source',
      query: 'prometheus',
      current: { selected: false, text: 'default', value: 'default' },
      hide: 0,
      refresh: 1,
      regex: '',
      includeAll: false,
      multi: false,
      options: [],
      skipUrlSync: false,
    },
    queryVariable('job', 'Job', 'Jobs that expose agent-observability metrics.', labelValues(buildInfo, 'job', config.selector), '.+'),
    queryVariable('instance', 'Instance', 'Instances of the selected jobs.', labelValues(buildInfo, 'instance', [...config.selector, job]), '.+'),
    queryVariable(
      'agent',
      'Agent',
      'Agents seen on the selected instances (gen_ai_agent_name); "All" also matches calls made outside any agent.',
      labelValues(agentDuration, 'gen_ai_agent_name', [...config.selector, job, instance]),
      '.*',
    ),
  ];
}

/** The banner line of every generated dashboard's description. */
export function dashboardBanner(version: string): string {
  return `Code generated by agent-observability ${version}. DO NOT EDIT: regenerate with \`agent-observability generate\`.`;
}

/**
 * Lays a spec out and applies the conventions. Panels flow left to right within a row and
 * wrap at 24 columns; ids are 1, 2, 3… in document order, so they are unique and stable.
 */
export function buildDashboard(spec: DashboardSpec, config: ResolvedGenerateConfig, version: string): Dashboard {
  const panels: (Panel | RowPanel)[] = [];
  let id = 0;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: ++id, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: GRID_WIDTH, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const type = p.type ?? 'timeseries';
      const w = p.width ?? 8;
      const h = p.height ?? (type === 'stat' ? 4 : 8);
      if (w < 1 || w > GRID_WIDTH) throw new RangeError(`panel "${p.title}": width ${w} is not in 1..${GRID_WIDTH}`);
      if (x + w > GRID_WIDTH) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push({
        id: ++id,
        type,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h, w, x, y },
        targets: p.targets.map(target),
        fieldConfig: fieldConfig(p),
        options: options(type),
      });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: `${config.dashboardUidPrefix}-${spec.name}`,
    title: spec.title,
    description: `${spec.summary} ${dashboardBanner(version)}`,
    tags: config.dashboardTags,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: config.dashboardRefresh,
    time: { from: config.dashboardTimeFrom, to: 'now' },
    timepicker: {},
    timezone: 'browser',
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [
      {
        title: 'Agent observability',
        type: 'dashboards',
        tags: [config.dashboardTags[0] as string],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      },
    ],
    templating: {
      list: [
        ...standardVariables(config),
        ...(spec.variables ?? []).map((v) => queryVariable(v.name, v.label, v.description, v.query, v.allValue ?? '.+')),
      ],
    },
    panels,
  };
}
