/**
 * Everything `agent-observability generate` writes, as a pure function of the config:
 * the dashboards (`dashboards/*.json`) and the rule files (`alerts/*.yaml`), with the
 * post-processors that hold the conventions for every alert and dashboard, generated or
 * added later (severity, summary, description, runbook link; unique ids; banner).
 */
import { VERSION } from '../version.js';
import { resolveGenerateConfig, runbookUrl, type GenerateConfig, type ResolvedGenerateConfig } from './config.js';
import { buildDashboard, type DashboardSpec } from './grafana/builders.js';
import { agentDetailDashboard } from './grafana/dashboards/agent-detail.js';
import { llmProvidersDashboard } from './grafana/dashboards/llm-providers.js';
import { overviewDashboard } from './grafana/dashboards/overview.js';
import { resilienceDashboard } from './grafana/dashboards/resilience.js';
import { runtimeDashboard } from './grafana/dashboards/runtime.js';
import { sloDashboard } from './grafana/dashboards/slos.js';
import type { Dashboard, Panel, RowPanel } from './grafana/types.js';
import { agentAlertGroups } from './prometheus/alerts.js';
import { generatedBanner, sloRuleGroups, templateText } from './prometheus/slo-rules.js';
import { renderRuleFile, type AlertingRule, type Rule, type RuleGroup } from './rules.js';

/** One generated file: `path` is relative to the output directory, always with `/`. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** What {@link generateArtifacts} returns. */
export interface GeneratedArtifacts {
  readonly files: readonly GeneratedFile[];
  readonly dashboards: readonly Dashboard[];
  readonly recording: readonly RuleGroup[];
  readonly alerts: readonly RuleGroup[];
}

/** Options of {@link generateArtifacts}. */
export interface GenerateArtifactsOptions {
  /** Version in the banners. @default this package's version */
  readonly version?: string;
}

/** Paths of the rule files, relative to the output directory. */
export const RULE_FILES = Object.freeze({ recording: 'alerts/recording.rules.yaml', alerts: 'alerts/alerts.rules.yaml' });

const DASHBOARDS: readonly ((c: ResolvedGenerateConfig) => DashboardSpec)[] = [
  overviewDashboard, agentDetailDashboard, llmProvidersDashboard, resilienceDashboard, sloDashboard, runtimeDashboard,
];
const SEVERITIES = new Set(['critical', 'warning', 'info']);
const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

function resolved(config: GenerateConfig | ResolvedGenerateConfig): ResolvedGenerateConfig {
  return typeof config === 'object' && config !== null && 'selectorText' in config ? config : resolveGenerateConfig(config);
}

/**
 * The alerting conventions, applied to every alert: a CamelCase name, `severity`
 * critical/warning/info, `summary` and `description`, and `runbook_url` from the config
 * pattern (annotations in that order). Throws when a rule breaks one: that is a bug in a
 * generator, not a user mistake.
 */
export function finalizeAlertGroups(groups: readonly RuleGroup[], config: Pick<ResolvedGenerateConfig, 'runbookUrl'>): RuleGroup[] {
  return groups.map((g) => ({
    ...g,
    rules: g.rules.map((r: Rule): Rule => {
      if (!('alert' in r)) return r;
      const where = `alert ${r.alert} (group ${g.name})`;
      if (!ALERT_NAME.test(r.alert)) throw new Error(`${where}: name is not CamelCase`);
      if (!SEVERITIES.has(r.labels?.severity ?? '')) throw new Error(`${where}: severity must be critical, warning or info`);
      const { summary, description, runbook_url: _drop, ...rest } = r.annotations ?? {};
      if (summary === undefined || summary === '' || description === undefined || description === '') {
        throw new Error(`${where}: summary and description annotations are required`);
      }
      const alert: AlertingRule = { ...r, annotations: { summary, description, runbook_url: templateText(runbookUrl(config, r.alert)), ...rest } };
      return alert;
    }),
  }));
}

/** The rule groups (recording and alerting) for a config, post-processed. */
export function generateRuleGroups(config: GenerateConfig | ResolvedGenerateConfig = {}): { readonly recording: RuleGroup[]; readonly alerts: RuleGroup[] } {
  const c = resolved(config);
  const slo =
    c.slos.length === 0
      ? { recording: [], alerts: [] }
      : sloRuleGroups({
          slos: c.slos,
          service: c.service,
          selector: c.selector,
          by: c.groupBy,
          buckets: c.buckets,
          minRequestRate: c.minRequestRate,
          alertWindows: c.burnRateWindows,
        });
  return {
    recording: [...slo.recording],
    alerts: finalizeAlertGroups([...agentAlertGroups(c), ...slo.alerts], c),
  };
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Pick<Dashboard, 'panels'>): Panel[] {
  return d.panels.flatMap((p: Panel | RowPanel) => (p.type === 'row' ? [...p.panels] : [p]));
}

/** Dashboard invariants: unique panel ids, refIds unique per panel, every target on the datasource variable. */
function checkDashboard(d: Dashboard): Dashboard {
  const ids = new Set<number>();
  for (const p of d.panels) {
    if (ids.has(p.id)) throw new Error(`dashboard ${d.uid}: duplicate panel id ${p.id}`);
    ids.add(p.id);
  }
  for (const p of allPanels(d)) {
    if (p.targets.length === 0) throw new Error(`dashboard ${d.uid}: panel "${p.title}" has no query`);
    if (new Set(p.targets.map((t) => t.refId)).size !== p.targets.length) throw new Error(`dashboard ${d.uid}: panel "${p.title}" repeats a refId`);
  }
  if (d.uid.length > 40) throw new Error(`dashboard uid ${d.uid} is longer than 40 characters`);
  return d;
}

/** The dashboards for a config. */
export function generateDashboards(config: GenerateConfig | ResolvedGenerateConfig = {}, options: GenerateArtifactsOptions = {}): Dashboard[] {
  const c = resolved(config);
  return DASHBOARDS.map((make) => checkDashboard(buildDashboard(make(c), c, options.version ?? VERSION)));
}

/**
 * Every generated file for a config: `dashboards/<name>.json` and the two rule files.
 * Pure and deterministic: the same config and version give the same bytes.
 * Throws {@link ConfigError} (with the path) on a bad config.
 *
 * @example
 * for (const f of generateArtifacts({ selector: 'job="support-agent"', slos }).files) writeFileSync(f.path, f.content);
 */
export function generateArtifacts(config: GenerateConfig | ResolvedGenerateConfig = {}, options: GenerateArtifactsOptions = {}): GeneratedArtifacts {
  const c = resolved(config);
  const version = options.version ?? VERSION;
  const dashboards = generateDashboards(c, { version });
  const { recording, alerts } = generateRuleGroups(c);
  const header = `${generatedBanner(version)}\nRegenerate with: agent-observability generate --config <config> --out <dir>`;
  const files: GeneratedFile[] = [
    ...dashboards.map((d) => ({ path: `dashboards/${d.uid.slice(c.dashboardUidPrefix.length + 1)}.json`, content: `${JSON.stringify(d, null, 2)}\n` })),
    { path: RULE_FILES.recording, content: renderRuleFile(recording, { header }) },
    { path: RULE_FILES.alerts, content: renderRuleFile(alerts, { header }) },
  ];
  return { files, dashboards, recording, alerts };
}
