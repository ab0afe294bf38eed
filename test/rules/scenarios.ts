/**
 * promtool scenarios for the fixture SLOs. Each scenario states by hand which alerts must
 * fire; labels and annotations of the expected alerts are taken from the generated rules
 * (they are static text), so the suite checks the PromQL, not the wording.
 *
 * Series have 1-minute samples; rules are evaluated every 5 minutes (plenty for rate()
 * over 5m of 1m samples, and 5x cheaper than evaluating every minute). Steady traffic runs
 * for 75 minutes: counters that start together keep their ratio through rate()
 * extrapolation, so windows reaching back before the start (6h, 1d, 3d) see the same
 * ratio as full ones. Their request *rate* is averaged over the whole window, though, so
 * the low-traffic guard of a long window only passes with enough traffic for the series'
 * age: the sweeps run at 10 req/s so that every guard passes.
 */
import { agentDuration, toolDuration } from '../../src/catalog/metrics.js';
import { sloRuleGroups, type AlertingRule } from '../../src/generate/index.js';
import { FIXTURE_OPTIONS } from './fixture.js';

interface InputSeries {
  readonly series: string;
  readonly values: string;
}
type LongWindow = '1h' | '6h' | '1d' | '3d';
interface Expectation {
  /** Long windows of the burn-rate alerts that fire. */
  readonly burn: readonly LongWindow[];
  /** Whether the plain latency alert fires (latency SLOs). */
  readonly latency?: boolean;
}
interface ExprTest {
  readonly expr: string;
  readonly eval_time: string;
  readonly exp_samples: readonly { readonly labels: string; readonly value: number }[];
}
interface Scenario {
  readonly name: string;
  readonly series: readonly InputSeries[];
  readonly minutes: number;
  readonly expect: Readonly<Record<string, Expectation>>;
  readonly exprs?: readonly ExprTest[] | undefined;
}

const AVAILABILITY = 'support-availability';
const LATENCY = 'search-latency';
const AVAILABILITY_BUDGET = 0.01;
const LATENCY_BUDGET = 0.05;
const STEADY = 75;
const SWEEP_RPS = 10;

const fmt = (n: number): string => String(Number(n.toFixed(6)));
const labels = (pairs: Record<string, string | undefined>): string =>
  `{${Object.entries(pairs)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
/** A counter growing by `perMinute` each minute from 0, or by the segments given. */
const counter = (series: string, perMinute: number, minutes = STEADY): InputSeries => ({ series, values: `0+${fmt(perMinute)}x${minutes}` });

/** Agent calls at `rps`, burning the 99 % budget at `burn`x: an error series and a success series. */
function availabilityTraffic(rps: number, burn: number, instance?: string): InputSeries[] {
  const perMinute = rps * 60;
  const errors = perMinute * burn * AVAILABILITY_BUDGET;
  const base = { job: 'agent', instance, gen_ai_agent_name: 'support' };
  return [
    counter(`${agentDuration.name}_count${labels({ ...base, error_type: 'timeout' })}`, errors),
    counter(`${agentDuration.name}_count${labels(base)}`, perMinute - errors),
  ];
}

/** Tool calls at `rps`; a fraction `slow` lands in (2.56, 5.12], the rest half in each bucket below. */
function latencyTraffic(rps: number, slow: number, instance?: string): InputSeries[] {
  const perMinute = rps * 60;
  const fast = perMinute * (1 - slow);
  const base = { job: 'agent', instance, gen_ai_tool_name: 'web_search' };
  const bucket = (le: string, n: number): InputSeries => counter(`${toolDuration.name}_bucket${labels({ ...base, le })}`, n);
  return [
    bucket('1.28', fast / 2),
    bucket('2.56', fast),
    bucket('5.12', perMinute),
    bucket('+Inf', perMinute),
    counter(`${toolDuration.name}_count${labels(base)}`, perMinute),
  ];
}

const none: Expectation = { burn: [] };
/** What must fire at a steady burn rate: stated per rate, not derived from the factors. */
const SWEEP: readonly { readonly burn: number; readonly fires: readonly LongWindow[] }[] = [
  { burn: 16, fires: ['1h', '6h', '1d', '3d'] }, // above 14.4x: both pages and both tickets
  { burn: 13, fires: ['6h', '1d', '3d'] }, // below 14.4x: no fast page
  { burn: 5, fires: ['1d', '3d'] }, // below 6x: tickets only
  { burn: 2.5, fires: ['3d'] }, // below 3x: the slow ticket only
  { burn: 0.8, fires: [] }, // below 1x: silent
];

const ids = (slo: string): string => `sloth_id="support-agent-${slo}", sloth_service="support-agent", sloth_slo="${slo}"`;

export const SCENARIOS: readonly Scenario[] = [
  ...SWEEP.map(({ burn, fires }) => ({
    name: `${AVAILABILITY} steady at ${burn}x the error budget`,
    series: availabilityTraffic(SWEEP_RPS, burn),
    minutes: STEADY,
    expect: { [AVAILABILITY]: { burn: fires }, [LATENCY]: none },
    exprs:
      burn === 16
        ? [
            { expr: `round(slo:sli_error:ratio_rate5m{sloth_slo="${AVAILABILITY}"}, 0.001)`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `{${ids(AVAILABILITY)}, sloth_window="5m"}`, value: 0.16 }] },
            { expr: `slo:objective:ratio{sloth_slo="${AVAILABILITY}"}`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `slo:objective:ratio{${ids(AVAILABILITY)}}`, value: 0.99 }] },
            { expr: `round(slo:current_burn_rate:ratio{sloth_slo="${AVAILABILITY}"}, 0.1)`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `{${ids(AVAILABILITY)}, sloth_window="5m"}`, value: 16 }] },
            { expr: `round(slo:period_burn_rate:ratio{sloth_slo="${AVAILABILITY}"}, 0.1)`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `{${ids(AVAILABILITY)}, sloth_window="30d"}`, value: 16 }] },
            { expr: `round(slo:period_error_budget_remaining:ratio{sloth_slo="${AVAILABILITY}"}, 0.1)`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `{${ids(AVAILABILITY)}, sloth_window="30d"}`, value: -15 }] },
          ]
        : undefined,
  })),
  ...SWEEP.map(({ burn, fires }) => ({
    name: `${LATENCY} steady at ${burn}x the error budget (${fmt(burn * LATENCY_BUDGET * 100)}% slower than 2.56s)`,
    series: latencyTraffic(SWEEP_RPS, burn * LATENCY_BUDGET),
    minutes: STEADY,
    // p95 <= 2.56 s holds exactly while at most 5 % of calls are slower, i.e. below 1x.
    expect: { [AVAILABILITY]: none, [LATENCY]: { burn: fires, latency: burn > 1 } },
    exprs:
      burn === 16
        ? [{ expr: `round(slo:sli_error:ratio_rate1h{sloth_slo="${LATENCY}"}, 0.001)`, eval_time: `${STEADY}m`, exp_samples: [{ labels: `{${ids(LATENCY)}, sloth_window="1h"}`, value: 0.8 }] }]
        : undefined,
  })),
  {
    // 10 req/s with 30 % errors (30x) for an hour, then ten clean minutes: the long windows
    // still burn, the 5m one is clean. Segments continue the counters from t = 61m.
    name: `${AVAILABILITY}: the page resets once the short window is clean`,
    series: [
      { series: `${agentDuration.name}_count${labels({ job: 'agent', gen_ai_agent_name: 'support', error_type: 'timeout' })}`, values: '0+180x60 10800+0x9' },
      { series: `${agentDuration.name}_count${labels({ job: 'agent', gen_ai_agent_name: 'support' })}`, values: '0+420x60 25800+600x9' },
    ],
    minutes: 70,
    expect: { [AVAILABILITY]: { burn: ['6h', '1d', '3d'] }, [LATENCY]: none },
  },
  {
    name: `${AVAILABILITY}: 16x at 0.05 req/s is under the 0.1 req/s low-traffic guard`,
    series: availabilityTraffic(0.05, 16),
    minutes: STEADY,
    expect: { [AVAILABILITY]: none, [LATENCY]: none },
  },
  {
    name: `${LATENCY}: 80% slow calls at 0.05 req/s is under the low-traffic guard`,
    series: latencyTraffic(0.05, 0.8),
    minutes: STEADY,
    expect: { [AVAILABILITY]: none, [LATENCY]: { burn: [], latency: false } },
  },
  {
    // Each instance alone is under the 0.1 req/s guard (see the scenario above); their sum
    // passes it over 1h. Over 6h/1d/3d the 75-minute-old series average below 0.1 req/s.
    name: `${AVAILABILITY}: 3 instances at 0.05 req/s each, 16x: the summed rate passes the 1h guard`,
    series: ['a', 'b', 'c'].flatMap((i) => availabilityTraffic(0.05, 16, i)),
    minutes: STEADY,
    expect: { [AVAILABILITY]: { burn: ['1h'] }, [LATENCY]: none },
  },
  {
    // Averaging per-instance ratios would say 33 % errors and page; the summed ratio is 0.5 %.
    name: `${AVAILABILITY}: 3 instances, one failing every call at 0.2 req/s, two healthy at 20 req/s`,
    series: [...availabilityTraffic(0.2, 100, 'a'), ...availabilityTraffic(20, 0, 'b'), ...availabilityTraffic(20, 0, 'c')],
    minutes: STEADY,
    expect: { [AVAILABILITY]: none, [LATENCY]: none },
  },
  {
    name: `${LATENCY}: 3 instances at 0.05 req/s each with 80% slow calls`,
    series: ['a', 'b', 'c'].flatMap((i) => latencyTraffic(0.05, 0.8, i)),
    minutes: STEADY,
    expect: { [AVAILABILITY]: none, [LATENCY]: { burn: ['1h'], latency: true } },
  },
];

/** The promtool test document for {@link SCENARIOS}. */
export function promtoolSuite(ruleFiles: readonly string[]): unknown {
  const rules = sloRuleGroups(FIXTURE_OPTIONS).alerts.flatMap((g) => g.rules as readonly AlertingRule[]);
  const alertNames = [...new Set(rules.map((r) => r.alert))];
  const expected = (alert: string, expect: Readonly<Record<string, Expectation>>): unknown[] =>
    rules
      .filter((r) => r.alert === alert)
      .filter((r) => {
        const e = expect[r.labels?.sloth_slo as string];
        if (e === undefined) return false;
        return r.labels?.long_window !== undefined ? e.burn.includes(r.labels.long_window as LongWindow) : e.latency === true;
      })
      .map((r) => ({ exp_labels: { ...r.labels }, exp_annotations: { ...r.annotations } }));
  return {
    rule_files: ruleFiles,
    evaluation_interval: '5m',
    tests: SCENARIOS.map((s) => ({
      name: s.name,
      interval: '1m',
      input_series: s.series,
      alert_rule_test: alertNames.map((alertname) => ({ eval_time: `${s.minutes}m`, alertname, exp_alerts: expected(alertname, s.expect) })),
      ...(s.exprs === undefined ? {} : { promql_expr_test: s.exprs }),
    })),
  };
}
