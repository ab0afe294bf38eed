/**
 * The slice of Grafana's dashboard JSON model the generators emit, hand-written (no
 * Grafana SDK dependency). Field names and shapes follow `@grafana/schema`'s dashboard
 * types (schemaVersion 39); a type test checks these stay assignable to them.
 */

/** A data source reference; ours is always the `${datasource}` variable. */
export interface DataSourceRef {
  readonly type: 'prometheus' | 'datasource' | 'grafana';
  readonly uid: string;
}

/** Panel position on the 24-column grid. */
export interface GridPos {
  readonly h: number;
  readonly w: number;
  readonly x: number;
  readonly y: number;
}

/** A Prometheus query of a panel. */
export interface PrometheusTarget {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  /** Exemplars (trace links) on histogram panels. */
  readonly exemplar: boolean;
  readonly editorMode: 'code';
}

export interface ThresholdStep {
  readonly color: string;
  readonly value: number | null;
}

export interface ValueMapping {
  readonly type: 'value';
  readonly options: Readonly<Record<string, { readonly text: string; readonly color?: string; readonly index?: number }>>;
}

export interface FieldConfigSource {
  readonly defaults: {
    readonly unit?: string;
    readonly min?: number;
    readonly max?: number;
    readonly decimals?: number;
    readonly noValue?: string;
    readonly color?: { readonly mode: 'thresholds' | 'palette-classic' | 'fixed' };
    readonly thresholds?: { readonly mode: 'absolute' | 'percentage'; readonly steps: readonly ThresholdStep[] };
    readonly mappings?: readonly ValueMapping[];
    readonly custom?: Readonly<Record<string, unknown>>;
  };
  readonly overrides: readonly never[];
}

/** Panel kinds the generators use. */
export type PanelType = 'timeseries' | 'stat' | 'state-timeline';

export interface Panel {
  readonly id: number;
  readonly type: PanelType;
  readonly title: string;
  readonly description: string;
  readonly datasource: DataSourceRef;
  readonly gridPos: GridPos;
  readonly targets: readonly PrometheusTarget[];
  readonly fieldConfig: FieldConfigSource;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface RowPanel {
  readonly id: number;
  readonly type: 'row';
  readonly title: string;
  readonly collapsed: boolean;
  readonly gridPos: GridPos;
  readonly panels: readonly Panel[];
}

export interface VariableOption {
  readonly selected: boolean;
  readonly text: string | readonly string[];
  readonly value: string | readonly string[];
}

export interface DatasourceVariable {
  readonly type: 'datasource';
  readonly name: string;
  readonly label: string;
  readonly query: 'prometheus';
  /** `default`: the organisation's default data source until the user picks one. */
  readonly current: VariableOption;
  readonly hide: 0;
  readonly refresh: 1;
  readonly regex: '';
  readonly includeAll: false;
  readonly multi: false;
  readonly options: readonly [];
  readonly skipUrlSync: false;
}

export interface QueryVariable {
  readonly type: 'query';
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly datasource: DataSourceRef;
  readonly query: string;
  readonly definition: string;
  /** 2 = on time-range change. */
  readonly refresh: 2;
  readonly regex: '';
  /** 1 = alphabetical ascending. */
  readonly sort: 1;
  readonly hide: 0;
  readonly multi: true;
  readonly includeAll: true;
  readonly allValue: string;
  readonly current: VariableOption;
  readonly options: readonly [];
  readonly skipUrlSync: false;
}

export type Variable = DatasourceVariable | QueryVariable;

export interface DashboardLink {
  readonly title: string;
  readonly type: 'dashboards';
  readonly tags: readonly string[];
  readonly asDropdown: boolean;
  readonly includeVars: boolean;
  readonly keepTime: boolean;
  readonly targetBlank: boolean;
  readonly icon: 'external link';
  readonly tooltip: string;
  readonly url: '';
}

export interface AnnotationQuery {
  readonly builtIn: 1;
  readonly datasource: DataSourceRef;
  readonly enable: true;
  readonly hide: true;
  readonly iconColor: string;
  readonly name: string;
  readonly type: 'dashboard';
}

/** A whole dashboard. */
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly schemaVersion: number;
  readonly version: number;
  readonly editable: boolean;
  /** 1 = shared crosshair. */
  readonly graphTooltip: 1;
  readonly fiscalYearStartMonth: 0;
  readonly liveNow: false;
  readonly refresh: string;
  readonly time: { readonly from: string; readonly to: string };
  readonly timepicker: Readonly<Record<string, never>>;
  readonly timezone: 'browser';
  readonly weekStart: '';
  readonly annotations: { readonly list: readonly AnnotationQuery[] };
  readonly links: readonly DashboardLink[];
  readonly templating: { readonly list: readonly Variable[] };
  readonly panels: readonly (Panel | RowPanel)[];
}
