/** LLM providers: latency, tokens, throttling and rate-limit headroom per provider and model. */
import {
  llmCallDuration, llmStreams, llmThrottled, llmTimePerOutputChunk, llmTimeToFirstChunk, llmTokenUsage, rateLimitLimit, rateLimitRemaining, rateLimitUtilization, tokenBudgetLimit,
  tokenBudgetUsage, tokenBudgetUtilization,
} from '../../../catalog/metrics.js';
import type { ResolvedGenerateConfig } from '../../config.js';
import { callRate, counterRate, eq, gaugeAggregate, histogramSumRate } from '../../promql.js';
import { AGENT_MATCHER, badAbove, scope, type DashboardSpec } from '../builders.js';
import { RATE, latencyTargets, redPanels } from '../panels.js';

export function llmProvidersDashboard(config: ResolvedGenerateConfig): DashboardSpec {
  const extra = scope(config);
  const agent = [AGENT_MATCHER];
  const model = ['gen_ai_provider_name', 'gen_ai_request_model'] as const;
  const limits = ['gen_ai_provider_name', 'gen_ai_request_model', 'kind'] as const;
  return {
    name: 'llm-providers',
    title: 'LLM providers',
    summary: 'Calls, latency, tokens, throttling and rate-limit headroom per provider and model.',
    rows: [
      {
        title: 'Calls and latency',
        panels: [
          ...redPanels('LLM', llmCallDuration, 'error_type', { extra, match: agent, by: model }).slice(0, 2),
          {
            title: 'LLM duration quantiles',
            description: 'p50, p95 and p99 duration of LLM calls by model; exemplars link to traces.',
            unit: 's',
            targets: latencyTargets(llmCallDuration, { extra, match: agent, by: ['gen_ai_request_model'] }),
          },
          {
            title: 'Operations per second',
            description: 'LLM calls per second by operation (chat, embeddings…) and model.',
            unit: 'ops',
            width: 24,
            targets: [
              {
                expr: callRate(llmCallDuration, RATE, { extra, match: agent, by: ['gen_ai_operation_name', 'gen_ai_request_model'] }),
                legend: '{{gen_ai_operation_name}} {{gen_ai_request_model}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Streams',
        panels: [
          {
            title: 'Time to first chunk (p95)',
            description: 'Streamed calls only: 95th percentile time from request to the first chunk, observed as it arrives; exemplars link to traces.',
            unit: 's',
            width: 8,
            targets: latencyTargets(llmTimeToFirstChunk, { extra, match: agent, by: ['gen_ai_request_model'] }, [0.95]),
          },
          {
            title: 'Time per output chunk',
            description: 'Streamed calls only: p50 and p95 of the time between consecutive chunks (a slow provider, or a consumer reading slowly: nothing is read ahead).',
            unit: 's',
            width: 8,
            targets: latencyTargets(llmTimePerOutputChunk, { extra, match: agent, by: ['gen_ai_request_model'] }, [0.5, 0.95]),
          },
          {
            title: 'Streams by outcome',
            description: 'Streamed calls per second by how they ended: completed, failed mid-stream, cancelled by the consumer, or dropped unread.',
            unit: 'ops',
            width: 8,
            stacked: true,
            targets: [
              { expr: counterRate(llmStreams, RATE, { extra, match: agent, by: ['gen_ai_request_model', 'outcome'] }), legend: '{{gen_ai_request_model}} {{outcome}}' },
            ],
          },
        ],
      },
      {
        title: 'Tokens',
        panels: [
          {
            title: 'Tokens per second by model',
            description: 'Input and output tokens per second, by model.',
            unit: 'short',
            width: 12,
            stacked: true,
            targets: [
              {
                expr: histogramSumRate(llmTokenUsage, RATE, { extra, match: agent, by: ['gen_ai_request_model', 'gen_ai_token_type'] }),
                legend: '{{gen_ai_request_model}} {{gen_ai_token_type}}',
              },
            ],
          },
          {
            title: 'Token budget utilization',
            description: 'Tokens used over the budget of the current window (obs.tokenBudget), by budget and token type.',
            unit: 'percentunit',
            width: 12,
            min: 0,
            thresholds: badAbove(0.8, 0.95),
            targets: [{ expr: gaugeAggregate('max', tokenBudgetUtilization, { extra, by: ['budget', 'gen_ai_token_type'] }), legend: '{{budget}} {{gen_ai_token_type}}' }],
          },
          {
            title: 'Token budget usage and limit',
            description: 'Tokens used in the current budget window, and the budget.',
            unit: 'short',
            width: 24,
            targets: [
              { expr: gaugeAggregate('max', tokenBudgetUsage, { extra, by: ['budget', 'gen_ai_token_type'] }), legend: 'used {{budget}} {{gen_ai_token_type}}' },
              { expr: gaugeAggregate('max', tokenBudgetLimit, { extra, by: ['budget', 'gen_ai_token_type'] }), legend: 'limit {{budget}} {{gen_ai_token_type}}' },
            ],
          },
        ],
      },
      {
        title: 'Throttling and rate limits',
        panels: [
          {
            title: 'Throttled calls per second (HTTP 429)',
            description: 'Calls the provider answered with 429, as recorded by obs.recordRateLimit.',
            unit: 'ops',
            targets: [{ expr: counterRate(llmThrottled, RATE, { extra, by: model }), legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}}' }],
          },
          {
            title: 'Rate-limited share of calls',
            description: 'Share of LLM calls that failed with error_type="rate_limited".',
            unit: 'percentunit',
            min: 0,
            thresholds: badAbove(0.01, 0.05),
            targets: [
              {
                expr: `${callRate(llmCallDuration, RATE, { extra, match: [AGENT_MATCHER, eq('error_type', 'rate_limited')], by: model })}\n/\n${callRate(llmCallDuration, RATE, { extra, match: agent, by: model })}`,
                legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}}',
              },
            ],
          },
          {
            title: 'Rate-limit utilization',
            description: 'Share of the provider rate limit in use (1 - remaining / limit), from the last response headers.',
            unit: 'percentunit',
            min: 0,
            max: 1,
            thresholds: badAbove(config.thresholds.rateLimitUtilization * 0.9, config.thresholds.rateLimitUtilization),
            targets: [{ expr: gaugeAggregate('max', rateLimitUtilization, { extra, by: limits }), legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}} {{kind}}' }],
          },
          {
            title: 'Rate-limit remaining',
            description: 'Requests or tokens left in the provider window, from the last response headers.',
            unit: 'short',
            width: 12,
            targets: [{ expr: gaugeAggregate('min', rateLimitRemaining, { extra, by: limits }), legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}} {{kind}}' }],
          },
          {
            title: 'Rate limit',
            description: 'The provider limit per window, from the response headers.',
            unit: 'short',
            width: 12,
            targets: [{ expr: gaugeAggregate('max', rateLimitLimit, { extra, by: limits }), legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}} {{kind}}' }],
          },
        ],
      },
    ],
  };
}
