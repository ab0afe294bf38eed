/**
 * `agent-observability/generate`: build-time generators (pure functions of the catalog and
 * your configuration). Nothing here imports prom-client, so scripts that write rule files
 * do not load the runtime.
 */
export {
  generateSloRules, sloRuleGroups, generatedBanner, MULTI_BURN_RATE_ALERTS, SLI_WINDOWS, SLO_RECORDS, DEFAULT_RUNBOOK_BASE_URL,
} from './prometheus/slo-rules.js';
export type { SloRulesOptions, SloRuleGroups, BurnRateAlertWindow } from './prometheus/slo-rules.js';
export { renderRuleFile } from './rules.js';
export type { RuleGroup, Rule, RecordingRule, AlertingRule } from './rules.js';
export {
  eq, neq, re, quote, matchers, histogramSeries, metricSeries, recordedSeries, rate, sum, histogramQuantile,
} from './promql.js';
export type { LabelMatcher, MatchOp, HistogramPart } from './promql.js';
export { defineSlo, loadSlos, SLO_TARGET_KINDS, SLO_DEFAULTS } from '../catalog/slo.js';
export type {
  SloSpec, AvailabilitySloSpec, LatencySloSpec, SloTarget, SloTargetKind, AvailabilitySli, LatencySli,
  SloEvaluationOptions, SloAlertingOptions,
} from '../catalog/slo.js';
