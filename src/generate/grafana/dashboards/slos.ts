/** SLOs and error budgets: the recorded Sloth-style series, and the in-process view (obs.sla). */
import { sloBurnRate, sloErrorBudgetRemaining, sloLatency, sloObjective } from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { SLO_RECORDS } from '../../prometheus/slo-rules.js';
import { gaugeAggregate, re, recordedSeries } from '../../promql.js';
import { badAbove, scope, type DashboardSpec } from '../builders.js';

export function sloDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  const slo = [re('sloth_slo', '$slo')];
  const rec = (name: string): string => recordedSeries(name, slo);
  const inProcess = [re('slo', '$slo')];
  const names = config.slos.map((s) => s.name).join(', ');
  return {
    name: 'slos',
    title: 'SLOs and error budgets',
    summary: `Burn rates and error budgets of the SLOs in the generate config${names === '' ? '' : ` (${names})`}, from the generated recording rules, and the in-process view of obs.sla.`,
    variables: [
      {
        name: 'slo',
        label: 'SLO',
        description: 'SLOs with recording rules (sloth_slo).',
        query: `label_values(${recordedSeries(SLO_RECORDS.objective)}, sloth_slo)`,
      },
    ],
    rows: [
      {
        title: 'Error budget (recording rules)',
        panels: [
          {
            title: 'Error budget remaining (SLO period)',
            description: 'Share of the error budget left over the SLO period (slo:period_error_budget_remaining:ratio); below 0 the SLO is missed.',
            type: 'stat',
            unit: 'percentunit',
            width: 8,
            thresholds: [
              { color: 'red', value: null },
              { color: 'orange', value: 0 },
              { color: 'green', value: 0.25 },
            ],
            targets: [{ expr: rec(SLO_RECORDS.periodErrorBudgetRemaining), legend: '{{sloth_slo}}' }],
          },
          {
            title: 'Objective',
            description: 'Target share of good events (slo:objective:ratio).',
            type: 'stat',
            unit: 'percentunit',
            width: 8,
            decimals: 2,
            targets: [{ expr: rec(SLO_RECORDS.objective), legend: '{{sloth_slo}}' }],
          },
          {
            title: 'Burn rate over the period',
            description: 'How fast the budget burned over the whole period (1 = exactly the budget).',
            type: 'stat',
            unit: 'none',
            width: 8,
            decimals: 2,
            thresholds: badAbove(1, 2),
            targets: [{ expr: rec(SLO_RECORDS.periodBurnRate), legend: '{{sloth_slo}}' }],
          },
          {
            title: 'Current burn rate',
            description: `Burn rate over the shortest SLI window (slo:current_burn_rate:ratio); the fastest page fires at ${config.burnRateWindows[0]?.burnFactor ?? 14.4}x.`,
            unit: 'none',
            width: 12,
            thresholds: badAbove(1, config.burnRateWindows[0]?.burnFactor ?? 14.4),
            targets: [{ expr: rec(SLO_RECORDS.currentBurnRate), legend: '{{sloth_slo}}' }],
          },
          {
            title: 'SLI error ratio by window',
            description: 'Bad events over all events (slo:sli_error:ratio_rate<window>) over the alert windows.',
            unit: 'percentunit',
            width: 12,
            min: 0,
            targets: [...new Set(config.burnRateWindows.flatMap((w) => [w.shortWindow, w.longWindow]))]
              .slice(0, 4)
              .map((w) => ({ expr: rec(SLO_RECORDS.sliError(w)), legend: `{{sloth_slo}} ${w}` })),
          },
        ],
      },
      {
        title: 'In-process view (obs.sla)',
        panels: [
          {
            title: 'Error budget remaining (in-process)',
            description: 'What each process evaluates in-process over the SLO window (agentobs_slo_error_budget_remaining_ratio).',
            unit: 'percentunit',
            targets: [{ expr: gaugeAggregate('min', sloErrorBudgetRemaining, { extra, match: inProcess, by: ['slo'] }), legend: '{{slo}}' }],
          },
          {
            title: 'Burn rate (in-process)',
            description: 'In-process burn rate by window (agentobs_slo_burn_rate); short and long windows of the SLO evaluation.',
            unit: 'none',
            targets: [{ expr: gaugeAggregate('max', sloBurnRate, { extra, match: inProcess, by: ['slo', 'window'] }), legend: '{{slo}} {{window}}' }],
          },
          {
            title: 'Latency quantile (in-process)',
            description: 'Latency quantile estimated in-process from the same buckets as histogram_quantile (latency SLOs).',
            unit: 's',
            targets: [{ expr: gaugeAggregate('max', sloLatency, { extra, match: inProcess, by: ['slo', 'quantile'] }), legend: '{{slo}} p{{quantile}}' }],
          },
          {
            title: 'Objective (in-process)',
            description: 'The objective each process evaluates against; should equal slo:objective:ratio.',
            type: 'stat',
            unit: 'percentunit',
            width: 24,
            decimals: 2,
            targets: [{ expr: gaugeAggregate('max', sloObjective, { extra, match: inProcess, by: ['slo'] }), legend: '{{slo}}' }],
          },
        ],
      },
    ],
  };
}
