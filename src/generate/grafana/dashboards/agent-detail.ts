/** Agent detail: one agent from invocation through workflow steps and tools to LLM calls and tokens. */
import { agentDuration, llmCallDuration, llmTokenUsage, operationActive, stepDuration, toolDuration } from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { callRate, gaugeAggregate, histogramMean, histogramSumRate, quantile, re } from '../../promql.js';
import { AGENT_MATCHER, scope, type DashboardSpec } from '../builders.js';
import { RATE, latencyTargets, redPanels } from '../panels.js';

export function agentDetailDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  const agent = [AGENT_MATCHER];
  return {
    name: 'agent-detail',
    title: 'Agent detail',
    summary: 'One agent, top to bottom: invocations, workflow steps, tool calls, LLM calls and token usage.',
    rows: [
      {
        title: 'Invocations',
        panels: [
          ...redPanels('Agent', agentDuration, 'error_type', { extra, match: agent, by: ['gen_ai_agent_name'] }).slice(0, 2),
          {
            title: 'Operations in flight',
            description: 'Instrumented calls running now, by kind (agent, workflow, step, tool, llm) and name.',
            unit: 'short',
            width: 8,
            targets: [{ expr: gaugeAggregate('sum', operationActive, { extra, by: ['kind', 'name'] }), legend: '{{kind}} {{name}}' }],
          },
        ],
      },
      {
        title: 'Workflow steps',
        panels: [
          {
            title: 'Step calls per second',
            description: 'Workflow steps completed per second, by workflow and step.',
            unit: 'ops',
            targets: [{ expr: callRate(stepDuration, RATE, { extra, by: ['gen_ai_workflow_name', 'step'] }), legend: '{{gen_ai_workflow_name}} {{step}}' }],
          },
          {
            title: 'Step failures per second',
            description: 'Failed workflow steps per second, by step and error_type.',
            unit: 'ops',
            targets: [
              {
                expr: callRate(stepDuration, RATE, { extra, match: [re('error_type', '.+')], by: ['step', 'error_type'] }),
                legend: '{{step}} {{error_type}}',
              },
            ],
          },
          {
            title: 'Step p95 duration',
            description: '95th percentile duration of each workflow step; exemplars link to traces.',
            unit: 's',
            targets: latencyTargets(stepDuration, { extra, by: ['step'] }, [0.95]),
          },
        ],
      },
      {
        title: 'Tools',
        panels: [
          ...redPanels('Tool', toolDuration, 'error_type', { extra, match: agent, by: ['gen_ai_tool_name'] }),
          {
            title: 'Tool failures by error type',
            description: 'Failed tool calls per second, by tool and error_type.',
            unit: 'ops',
            width: 12,
            stacked: true,
            targets: [
              {
                expr: callRate(toolDuration, RATE, { extra, match: [AGENT_MATCHER, re('error_type', '.+')], by: ['gen_ai_tool_name', 'error_type'] }),
                legend: '{{gen_ai_tool_name}} {{error_type}}',
              },
            ],
          },
          {
            title: 'Tool duration quantiles',
            description: 'p50 and p99 duration of each tool; exemplars link to traces.',
            unit: 's',
            width: 12,
            targets: latencyTargets(toolDuration, { extra, match: agent, by: ['gen_ai_tool_name'] }, [0.5, 0.99]),
          },
        ],
      },
      {
        title: 'LLM calls',
        panels: [
          ...redPanels('LLM', llmCallDuration, 'error_type', { extra, match: agent, by: ['gen_ai_request_model'] }),
          {
            title: 'LLM failures by error type',
            description: 'Failed LLM calls per second, by model and error_type (rate_limited, overloaded, timeout…).',
            unit: 'ops',
            width: 24,
            stacked: true,
            targets: [
              {
                expr: callRate(llmCallDuration, RATE, { extra, match: [AGENT_MATCHER, re('error_type', '.+')], by: ['gen_ai_request_model', 'error_type'] }),
                legend: '{{gen_ai_request_model}} {{error_type}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Tokens',
        panels: [
          {
            title: 'Tokens per second by type',
            description: 'Input and output tokens per second (sum of gen_ai_client_token_usage).',
            unit: 'short',
            stacked: true,
            targets: [{ expr: histogramSumRate(llmTokenUsage, RATE, { extra, match: agent, by: ['gen_ai_token_type'] }), legend: '{{gen_ai_token_type}}' }],
          },
          {
            title: 'Mean tokens per call',
            description: 'Average input and output tokens per LLM call, by model.',
            unit: 'short',
            targets: [
              {
                expr: histogramMean(llmTokenUsage, RATE, { extra, match: agent, by: ['gen_ai_request_model', 'gen_ai_token_type'] }),
                legend: '{{gen_ai_request_model}} {{gen_ai_token_type}}',
              },
            ],
          },
          {
            title: 'p95 tokens per call',
            description: '95th percentile of tokens per call, by token type (bucket resolution: x4).',
            unit: 'short',
            targets: [{ expr: quantile(0.95, llmTokenUsage, RATE, { extra, match: agent, by: ['gen_ai_token_type'] }), legend: '{{gen_ai_token_type}}' }],
          },
        ],
      },
    ],
  };
}
