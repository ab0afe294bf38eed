/** Node.js runtime: event loop, CPU, memory, GC, handles, and the library's own self-metrics. */
import {
  activeResources, buildInfo, correlationIdsReplaced, eventLoopLagMax, eventLoopLagP50, eventLoopLagP90, eventLoopLagP99, eventLoopUtilization,
  externalMemory, gcDuration, heapLimit, heapSpaceUsed, heapTotal, heapUsed, internalErrors, labelOverflow, labelSanitized, nodeVersionInfo, scrapes,
  processCpuSystem, processCpuUser, processMaxFds, processOpenFds, processResidentMemory, processStartTime,
} from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { aggregate, callRate, counterRate, gaugeAggregate, histogramSumRate, metricSeries } from '../../promql.js';
import { badAbove, scope, type DashboardSpec } from '../builders.js';
import { RATE } from '../panels.js';

export function runtimeDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  const inst = { extra, keep: ['instance'] };
  const lag = config.thresholds.eventLoopLagSeconds;
  return {
    name: 'node-runtime',
    title: 'Node.js runtime',
    summary: 'Event loop, CPU, memory, GC and handles per instance, plus agent-observability self-metrics.',
    rows: [
      {
        title: 'Event loop',
        panels: [
          {
            title: 'Event-loop delay',
            description: 'Event-loop delay percentiles since the previous scrape, per instance (alert on the p99 average above the threshold).',
            unit: 's',
            width: 12,
            thresholds: badAbove(lag / 2, lag),
            targets: [
              { expr: gaugeAggregate('max', eventLoopLagP50, inst), legend: 'p50 {{instance}}' },
              { expr: gaugeAggregate('max', eventLoopLagP90, inst), legend: 'p90 {{instance}}' },
              { expr: gaugeAggregate('max', eventLoopLagP99, inst), legend: 'p99 {{instance}}' },
              { expr: gaugeAggregate('max', eventLoopLagMax, inst), legend: 'max {{instance}}' },
            ],
          },
          {
            title: 'Event-loop utilization',
            description: 'Share of time the event loop was busy since the previous scrape.',
            unit: 'percentunit',
            width: 12,
            min: 0,
            max: 1,
            thresholds: badAbove(0.7, 0.9),
            targets: [{ expr: gaugeAggregate('max', eventLoopUtilization, inst), legend: '{{instance}}' }],
          },
        ],
      },
      {
        title: 'CPU and memory',
        panels: [
          {
            title: 'CPU',
            description: 'CPU seconds per second (1 = one core), user and system.',
            unit: 'percentunit',
            stacked: true,
            targets: [
              { expr: counterRate(processCpuUser, RATE, inst), legend: 'user {{instance}}' },
              { expr: counterRate(processCpuSystem, RATE, inst), legend: 'system {{instance}}' },
            ],
          },
          {
            title: 'Resident memory',
            description: 'Resident set size of each process.',
            unit: 'bytes',
            targets: [{ expr: gaugeAggregate('max', processResidentMemory, inst), legend: '{{instance}}' }],
          },
          {
            title: 'V8 heap',
            description: 'Heap used and committed, and the limit at which the process runs out of memory.',
            unit: 'bytes',
            targets: [
              { expr: gaugeAggregate('max', heapUsed, inst), legend: 'used {{instance}}' },
              { expr: gaugeAggregate('max', heapTotal, inst), legend: 'total {{instance}}' },
              { expr: gaugeAggregate('max', heapLimit, inst), legend: 'limit {{instance}}' },
            ],
          },
          {
            title: 'Heap used by space',
            description: 'V8 heap used per space (new, old, code, large_object…).',
            unit: 'bytes',
            width: 12,
            stacked: true,
            targets: [{ expr: gaugeAggregate('max', heapSpaceUsed, { extra, keep: ['instance'], by: ['space'] }), legend: '{{instance}} {{space}}' }],
          },
          {
            title: 'External memory',
            description: 'Memory of C++ objects bound to JavaScript objects (buffers and the like).',
            unit: 'bytes',
            width: 12,
            targets: [{ expr: gaugeAggregate('max', externalMemory, inst), legend: '{{instance}}' }],
          },
        ],
      },
      {
        title: 'GC and handles',
        panels: [
          {
            title: 'GC time per second',
            description: 'Seconds spent in garbage collection per second, by kind.',
            unit: 'percentunit',
            stacked: true,
            targets: [{ expr: histogramSumRate(gcDuration, RATE, { extra, keep: ['instance'], by: ['kind'] }), legend: '{{instance}} {{kind}}' }],
          },
          {
            title: 'GC pauses per second',
            description: 'Garbage collections per second, by kind.',
            unit: 'ops',
            targets: [{ expr: callRate(gcDuration, RATE, { extra, keep: ['instance'], by: ['kind'] }), legend: '{{instance}} {{kind}}' }],
          },
          {
            title: 'Active resources',
            description: 'Handles and requests keeping the event loop alive, by type.',
            unit: 'short',
            targets: [{ expr: gaugeAggregate('sum', activeResources, { extra, keep: ['instance'], by: ['type'] }), legend: '{{instance}} {{type}}' }],
          },
          {
            title: 'Open file descriptors',
            description: 'Open file descriptors over the process limit (Linux only).',
            unit: 'percentunit',
            width: 12,
            min: 0,
            thresholds: badAbove(0.7, 0.9),
            targets: [{ expr: `${gaugeAggregate('max', processOpenFds, inst)}\n/\n${gaugeAggregate('max', processMaxFds, inst)}`, legend: '{{instance}}' }],
          },
          {
            title: 'Uptime',
            description: 'Time since each process started.',
            type: 'stat',
            unit: 's',
            width: 12,
            targets: [{ expr: aggregate('min', `time() - ${metricSeries(processStartTime, [], extra)}`, ['instance']), legend: '{{instance}}' }],
          },
        ],
      },
      {
        title: 'Versions and self-metrics',
        panels: [
          {
            title: 'Node.js versions',
            description: 'Processes per Node.js version.',
            type: 'stat',
            width: 12,
            targets: [{ expr: gaugeAggregate('count', nodeVersionInfo, { extra, by: ['version'] }), legend: 'node {{version}}' }],
          },
          {
            title: 'agent-observability versions',
            description: 'Processes per agent-observability version (agentobs_build_info).',
            type: 'stat',
            width: 12,
            targets: [{ expr: gaugeAggregate('count', buildInfo, { extra, by: ['version'] }), legend: 'agent-observability {{version}}' }],
          },
          {
            title: 'Internal errors per second',
            description: 'Failures inside agent-observability, by component; never thrown into user code. Should be 0.',
            unit: 'ops',
            width: 6,
            targets: [{ expr: counterRate(internalErrors, RATE, { extra, by: ['component'] }), legend: '{{component}}' }],
          },
          {
            title: 'Label values folded into _OTHER',
            description: 'Cardinality guard overflow per second, by metric and label: raise the cap or add an allow-list.',
            unit: 'ops',
            width: 6,
            targets: [{ expr: counterRate(labelOverflow, RATE, { extra, by: ['metric', 'label'] }), legend: '{{metric}} {{label}}' }],
          },
          {
            title: 'Label values sanitized',
            description: 'Label values rewritten (control characters, invalid UTF-16, too long) per second.',
            unit: 'ops',
            width: 6,
            targets: [{ expr: counterRate(labelSanitized, RATE, { extra, by: ['metric', 'label'] }), legend: '{{metric}} {{label}}' }],
          },
          {
            title: 'Correlation IDs replaced',
            description: 'Received correlation IDs replaced by generated ones per second, by reason.',
            unit: 'ops',
            width: 6,
            targets: [{ expr: counterRate(correlationIdsReplaced, RATE, { extra, by: ['reason'] }), legend: '{{reason}}' }],
          },
          {
            title: '/metrics requests by outcome',
            description:
              'Requests to our /metrics handlers per second: served, rejected (503 past maxPendingScrapes), abandoned ' +
              '(the scraper left, stalled or passed its deadline), failed. Anything but served means scrapes are lost.',
            unit: 'reqps',
            width: 24,
            targets: [{ expr: counterRate(scrapes, RATE, { extra, by: ['outcome'] }), legend: '{{outcome}}' }],
          },
        ],
      },
    ],
  };
}
