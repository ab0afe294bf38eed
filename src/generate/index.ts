/**
 * `agent-observability/generate`: build-time generators (pure functions of the catalog and
 * your configuration). Nothing here imports prom-client, so scripts that write rule files
 * do not load the runtime.
 */
export { generateArtifacts, generateDashboards, generateRuleGroups, RULE_FILES } from './artifacts.js';
export type { GeneratedFile, GeneratedArtifacts, GenerateArtifactsOptions } from './artifacts.js';
export { resolveGenerateConfig, GENERATE_DEFAULTS } from './config.js';
export type { GenerateConfig, ResolvedGenerateConfig, AlertThresholds, AlertForDurations } from './config.js';
export { generateSloRules, sloRuleGroups, MULTI_BURN_RATE_ALERTS } from './prometheus/slo-rules.js';
export type { SloRulesOptions, SloRuleGroups, BurnRateAlertWindow } from './prometheus/slo-rules.js';
export { agentAlertGroups } from './prometheus/alerts.js';
export { renderRuleFile } from './rules.js';
export type { RuleGroup, Rule, RecordingRule, AlertingRule } from './rules.js';
export { buildDashboard, SCHEMA_VERSION } from './grafana/builders.js';
export type { DashboardSpec, RowSpec, PanelSpec, TargetSpec, VariableSpec } from './grafana/builders.js';
export type {
  Dashboard, Panel, RowPanel, PrometheusTarget, Variable, QueryVariable, DatasourceVariable, VariableOption, DataSourceRef, GridPos,
  FieldConfigSource, ThresholdStep, ValueMapping, DashboardLink, AnnotationQuery, PanelType,
} from './grafana/types.js';
// Typed PromQL builders over catalog entries, under one name: `promql.callRate(catalog.toolDuration, '5m')`.
export * as promql from './promql.js';
// The catalog entries the builders take (data only, no prom-client), so build scripts need only this entry point.
export * as catalog from '../catalog/index.js';
export { defineSlo, loadSlos, SLO_TARGET_KINDS, SLO_DEFAULTS } from '../catalog/slo.js';
export type {
  SloSpec, AvailabilitySloSpec, LatencySloSpec, SloTarget, SloTargetKind, AvailabilitySli, LatencySli,
  SloEvaluationOptions, SloAlertingOptions,
} from '../catalog/slo.js';
