/** Agent overview: RED at a glance for agents, workflows and the HTTP API. */
import { agentDuration, httpServerRequestDuration, operationActive, workflowDuration } from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { callRate, eq, errorRatio, gaugeAggregate, quantile, re } from '../../promql.js';
import { AGENT_MATCHER, badAbove, scope, type DashboardSpec } from '../builders.js';
import { RATE, latencyTargets, redPanels } from '../panels.js';

export function overviewDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  const agents = { extra, match: [AGENT_MATCHER] };
  return {
    name: 'agent-overview',
    title: 'Agent overview (RED)',
    summary: 'Rate, errors and duration of agent invocations, workflows and the HTTP API.',
    rows: [
      {
        title: 'Agents',
        panels: [
          {
            title: 'Invocations per second',
            description: 'Agent invocations completed per second, all selected agents.',
            type: 'stat',
            unit: 'ops',
            width: 6,
            targets: [{ expr: callRate(agentDuration, RATE, agents) }],
          },
          {
            title: 'Error ratio',
            description: 'Share of agent invocations that failed.',
            type: 'stat',
            unit: 'percentunit',
            width: 6,
            thresholds: badAbove(0.01, 0.05),
            targets: [{ expr: errorRatio(agentDuration, 'error_type', RATE, agents) }],
          },
          {
            title: 'p95 duration',
            description: '95th percentile duration of agent invocations.',
            type: 'stat',
            unit: 's',
            width: 6,
            targets: [{ expr: quantile(0.95, agentDuration, RATE, agents) }],
          },
          {
            title: 'In flight',
            description: 'Agent invocations running now (agentobs_operation_active).',
            type: 'stat',
            unit: 'short',
            width: 6,
            targets: [{ expr: gaugeAggregate('sum', operationActive, { extra, match: [eq('kind', 'agent'), re('name', '$agent')] }) }],
          },
          ...redPanels('Agent', agentDuration, 'error_type', { ...agents, by: ['gen_ai_agent_name'] }),
          {
            title: 'Agent failures by error type',
            description: 'Failed agent invocations per second, by agent and error_type.',
            unit: 'ops',
            width: 12,
            stacked: true,
            targets: [
              {
                expr: callRate(agentDuration, RATE, { extra, match: [AGENT_MATCHER, re('error_type', '.+')], by: ['gen_ai_agent_name', 'error_type'] }),
                legend: '{{gen_ai_agent_name}} {{error_type}}',
              },
            ],
          },
          {
            title: 'Agent duration quantiles',
            description: 'p50, p95 and p99 duration of agent invocations; exemplars link to traces.',
            unit: 's',
            width: 12,
            targets: latencyTargets(agentDuration, { extra, match: [AGENT_MATCHER] }),
          },
        ],
      },
      {
        title: 'Workflows',
        panels: redPanels('Workflow', workflowDuration, 'error_type', { extra, by: ['gen_ai_workflow_name'] }),
      },
      {
        title: 'HTTP API',
        panels: [
          {
            title: 'Requests per second by route and status',
            description: 'HTTP server requests per second (http_server_request_duration_seconds), by route template and status code.',
            unit: 'reqps',
            width: 8,
            targets: [
              {
                expr: callRate(httpServerRequestDuration, RATE, { extra, by: ['http_route', 'http_response_status_code'] }),
                legend: '{{http_route}} {{http_response_status_code}}',
              },
            ],
          },
          ...redPanels('HTTP route', httpServerRequestDuration, 'error_type', { extra, by: ['http_route'] }).slice(1),
        ],
      },
    ],
  };
}
