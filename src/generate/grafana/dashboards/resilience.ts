/** Resilience: circuit breakers (states, transitions, outcomes), pools and retries. */
import {
  breakerCallDuration, breakerCalls, breakerFailureRatio, breakerState, breakerTransitions, poolLimit, poolRejections, poolUsage,
  poolUtilization, poolWaitTime, retryAttempts, retryExhausted,
} from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { aggregate, callRate, counterRate, eq, gaugeAggregate, histogramMean, metricSeries, quantile } from '../../promql.js';
import { badAbove, scope, type DashboardSpec } from '../builders.js';
import { RATE, latencyTargets } from '../panels.js';

export function resilienceDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  // One number per breaker: 0 closed, 1 half-open, 2 open (the state gauge is 1 for the current state).
  const state = (s: 'open' | 'half_open'): string => metricSeries(breakerState, [eq('state', s)], extra);
  const stateCode = aggregate('max', `${state('open')} * 2\n+ ignoring(state)\n${state('half_open')}`, ['breaker']);
  return {
    name: 'resilience',
    title: 'Resilience: breakers, pools, retries',
    summary: 'Circuit breaker states and transitions, pool utilization and queueing, retries.',
    rows: [
      {
        title: 'Circuit breakers',
        panels: [
          {
            title: 'Breaker state',
            description: 'Current state of each breaker: closed, half-open or open.',
            type: 'state-timeline',
            unit: 'none',
            width: 24,
            height: 6,
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { text: 'closed', color: 'green', index: 0 },
                  '1': { text: 'half-open', color: 'orange', index: 1 },
                  '2': { text: 'open', color: 'red', index: 2 },
                },
              },
            ],
            targets: [{ expr: stateCode, legend: '{{breaker}}' }],
          },
          {
            title: 'Transitions per second',
            description: 'Breaker state transitions per second, by breaker and from → to.',
            unit: 'ops',
            targets: [{ expr: counterRate(breakerTransitions, RATE, { extra, by: ['breaker', 'from', 'to'] }), legend: '{{breaker}} {{from}} → {{to}}' }],
          },
          {
            title: 'Calls by outcome',
            description: 'Calls through each breaker per second: success, failure, timeout, rejected_open, rejected_capacity…',
            unit: 'ops',
            stacked: true,
            targets: [{ expr: counterRate(breakerCalls, RATE, { extra, by: ['breaker', 'outcome'] }), legend: '{{breaker}} {{outcome}}' }],
          },
          {
            title: 'Rolling failure ratio',
            description: "Failures over calls in each breaker's rolling window (what opens it).",
            unit: 'percentunit',
            min: 0,
            max: 1,
            thresholds: badAbove(0.25, 0.5),
            targets: [{ expr: gaugeAggregate('max', breakerFailureRatio, { extra, by: ['breaker'] }), legend: '{{breaker}}' }],
          },
          {
            title: 'Guarded call p95 duration',
            description: '95th percentile duration of calls through each breaker, by outcome; exemplars link to traces.',
            unit: 's',
            width: 24,
            targets: latencyTargets(breakerCallDuration, { extra, by: ['breaker', 'outcome'] }, [0.95]),
          },
        ],
      },
      {
        title: 'Pools',
        panels: [
          {
            title: 'Pool utilization',
            description: 'Active calls over the concurrency limit, per pool (saturation alert at the configured threshold).',
            unit: 'percentunit',
            min: 0,
            max: 1,
            thresholds: badAbove(config.thresholds.poolUtilization * 0.8, config.thresholds.poolUtilization),
            targets: [{ expr: gaugeAggregate('max', poolUtilization, { extra, by: ['pool'] }), legend: '{{pool}}' }],
          },
          {
            title: 'Active and queued calls',
            description: 'Calls running and waiting in each pool, with the configured limits dashed.',
            unit: 'short',
            targets: [
              { expr: gaugeAggregate('sum', poolUsage, { extra, by: ['pool', 'state'] }), legend: '{{pool}} {{state}}' },
              { expr: gaugeAggregate('sum', poolLimit, { extra, by: ['pool', 'state'] }), legend: '{{pool}} {{state}} limit' },
            ],
          },
          {
            title: 'Queue wait p95',
            description: '95th percentile time calls waited for a slot; exemplars link to traces.',
            unit: 's',
            targets: latencyTargets(poolWaitTime, { extra, by: ['pool'] }, [0.95]),
          },
          {
            title: 'Rejections per second',
            description: 'Calls a pool rejected, by reason (queue_full, timeout, aborted).',
            unit: 'ops',
            width: 24,
            targets: [{ expr: counterRate(poolRejections, RATE, { extra, by: ['pool', 'reason'] }), legend: '{{pool}} {{reason}}' }],
          },
        ],
      },
      {
        title: 'Retries',
        panels: [
          {
            title: 'Retried calls per second',
            description: 'Calls made through obs.retry per second (first attempts included), by kind and name.',
            unit: 'ops',
            targets: [{ expr: callRate(retryAttempts, RATE, { extra, by: ['kind', 'name'] }), legend: '{{kind}} {{name}}' }],
          },
          {
            title: 'Attempts per call',
            description: 'Mean and p95 attempts per retried call (1 = succeeded first time).',
            unit: 'short',
            targets: [
              { expr: histogramMean(retryAttempts, RATE, { extra, by: ['name'] }), legend: 'mean {{name}}' },
              { expr: quantile(0.95, retryAttempts, RATE, { extra, by: ['name'] }), legend: 'p95 {{name}}' },
            ],
          },
          {
            title: 'Retries exhausted per second',
            description: 'Calls that failed after their last attempt or deadline.',
            unit: 'ops',
            targets: [{ expr: counterRate(retryExhausted, RATE, { extra, by: ['kind', 'name'] }), legend: '{{kind}} {{name}}' }],
          },
        ],
      },
    ],
  };
}
