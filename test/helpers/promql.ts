/**
 * PromQL in the shipped artifacts, read the way Prometheus 2.42 reads it: the lezer grammar
 * pinned to the server's version (`@prometheus-io/lezer-promql@0.42.0`; later versions accept
 * functions 2.42 rejects), Grafana variables substituted first. Used by the metric-name
 * test and the dashboard query test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Grafana's built-in interval variables and the dashboard's own, as the test substitutes them. */
export interface GrafanaVars {
  /** `$__rate_interval` @default '30s' */
  readonly rateInterval?: string;
  /** Values of dashboard variables by name (`job` → `.+`); unknown ones become `.*`. */
  readonly vars?: Readonly<Record<string, string>>;
}

/** Replaces Grafana variables so the text is plain PromQL. */
export function substituteGrafanaVars(expr: string, o: GrafanaVars = {}): string {
  const rate = o.rateInterval ?? '30s';
  return expr
    .replaceAll('${__rate_interval}', rate)
    .replaceAll('$__rate_interval', rate)
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => o.vars?.[name] ?? '.*');
}

/** Grammar errors (empty when the expression parses). */
export function promqlSyntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) errors.push(`near "${expr.slice(Math.max(0, n.from - 15), n.to + 15)}"`);
    },
  });
  return errors;
}

/** Metric names selected by an expression (each vector selector's name; `{__name__=…}` selectors come back as `{__name__}`). */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter(n) {
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      names.push(id === null ? '{__name__}' : expr.slice(id.from, id.to));
    },
  });
  return names;
}

/** One PromQL expression found in a shipped file. */
export interface ShippedExpr {
  readonly file: string;
  /** Panel title / variable name / rule name. */
  readonly where: string;
  readonly expr: string;
  readonly kind: 'panel' | 'variable' | 'rule';
  /** For panels: Grafana variables still in it. */
  readonly exemplar?: boolean;
}

interface DashboardJson {
  readonly panels: readonly { readonly type: string; readonly title: string; readonly targets?: readonly { readonly expr: string; readonly exemplar?: boolean }[] }[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: unknown; readonly allValue?: string }[] };
}

export function readDashboards(dir = path.join(ROOT, 'dashboards')): { file: string; json: DashboardJson }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: `dashboards/${f}`, json: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as DashboardJson }));
}

/** `label_values(selector, label)` → its parts. */
export function parseLabelValues(query: string): { selector: string; label: string } | undefined {
  const m = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query.trim());
  return m === null ? undefined : { selector: m[1] as string, label: m[2] as string };
}

export function dashboardExprs(): ShippedExpr[] {
  return readDashboards().flatMap(({ file, json }) => [
    ...json.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ file, where: p.title, expr: t.expr, kind: 'panel' as const, exemplar: t.exemplar === true }))),
    ...json.templating.list.flatMap((v) => {
      const lv = typeof v.query === 'string' ? parseLabelValues(v.query) : undefined;
      return lv === undefined ? [] : [{ file, where: `$${v.name}`, expr: lv.selector, kind: 'variable' as const }];
    }),
  ]);
}

export interface RuleJson {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function readRuleFiles(dir = path.join(ROOT, 'alerts')): { file: string; groups: { name: string; rules: RuleJson[] }[] }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => ({ file: `alerts/${f}`, groups: (parse(readFileSync(path.join(dir, f), 'utf8')) as { groups: { name: string; rules: RuleJson[] }[] }).groups }));
}

export function ruleExprs(): ShippedExpr[] {
  return readRuleFiles().flatMap(({ file, groups }) =>
    groups.flatMap((g) => g.rules.map((r) => ({ file, where: r.alert ?? r.record ?? '?', expr: r.expr, kind: 'rule' as const }))),
  );
}
