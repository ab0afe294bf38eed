/**
 * `agent-observability/generate`: build-time generators (pure functions of the catalog and
 * your configuration). Nothing here imports prom-client, so scripts that write rule files
 * do not load the runtime.
 */
export {
  generateSloRules, sloRuleGroups, generatedBanner, MULTI_BURN_RATE_ALERTS, SLI_WINDOWS, SLO_RECORDS, DEFAULT_RUNBOOK_BASE_URL,
} from './prometheus/slo-rules.js';
export type { SloRulesOptions, SloRuleGroups, BurnRateAlertWindow } from './prometheus/slo-rules.js';
export { renderRuleFile, yamlString } from './rules.js';
export type { RuleGroup, Rule, RecordingRule, AlertingRule } from './rules.js';
export {
  eq, neq, re, quote, matchers, histogramSeries, metricSeries, recordedSeries, rate, sum, histogramQuantile,
  aggregate, overTime, increase, absentOverTime, callRate, errorRatio, histogramMean, histogramSumRate, counterRate, counterIncrease,
  gaugeAggregate, quantile, labelValues, upSeries, num, on, PROMETHEUS_UP,
} from './promql.js';
export type { LabelMatcher, MatchOp, HistogramPart, AggregationOp, SeriesOptions } from './promql.js';
export { parseSelector } from './selector.js';
export { resolveGenerateConfig, runbookUrl, GENERATE_DEFAULTS } from './config.js';
export type { GenerateConfig, ResolvedGenerateConfig, AlertThresholds, AlertForDurations } from './config.js';
export {
  generateArtifacts, generateDashboards, generateRuleGroups, finalizeAlertGroups, allPanels, RULE_FILES,
} from './artifacts.js';
export type { GeneratedFile, GeneratedArtifacts, GenerateArtifactsOptions } from './artifacts.js';
export { agentAlertGroups, AGENT_ALERTS, TARGET_MEMORY } from './prometheus/alerts.js';
export type { AgentAlertName, AlertDraft, Severity } from './prometheus/alerts.js';
export {
  buildDashboard, standardVariables, dashboardBanner, scope, badAbove, AGENT_MATCHER, DATASOURCE, SCHEMA_VERSION,
} from './grafana/builders.js';
export type { DashboardSpec, RowSpec, PanelSpec, TargetSpec, VariableSpec } from './grafana/builders.js';
export type {
  Dashboard, Panel, RowPanel, PrometheusTarget, Variable, QueryVariable, DatasourceVariable, DataSourceRef, GridPos, FieldConfigSource,
  ThresholdStep, ValueMapping, DashboardLink, PanelType,
} from './grafana/types.js';
export { defineSlo, loadSlos, SLO_TARGET_KINDS, SLO_DEFAULTS } from '../catalog/slo.js';
export type {
  SloSpec, AvailabilitySloSpec, LatencySloSpec, SloTarget, SloTargetKind, AvailabilitySli, LatencySli,
  SloEvaluationOptions, SloAlertingOptions,
} from '../catalog/slo.js';
