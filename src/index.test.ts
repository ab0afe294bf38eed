import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public surface', () => {
  // A change here is a change to the public API: update docs/api.md and the CHANGELOG with it.
  it('exports exactly these run-time values', () => {
    expect(Object.keys(api).sort()).toEqual([
      'AgentObservabilityError',
      'BREAKER_STATES',
      'CONTENT_TYPES',
      'CircuitCapacityError',
      'CircuitOpenError',
      'ConfigError',
      'OPERATION_KINDS',
      'OTHER',
      'PoolRejectedError',
      'RATE_LIMIT_HEADERS',
      'SLO_TARGET_KINDS',
      'SPAN_ATTRIBUTES',
      'TimeoutError',
      'TokenBudgetExceededError',
      'VERSION',
      'catalog',
      'createObservability',
      'defaultErrorType',
      'defaultRetryable',
      'defineSlo',
      'isAgentObservabilityError',
      'isCircuitCapacityError',
      'isCircuitOpenError',
      'isConfigError',
      'isPoolRejectedError',
      'isTimeoutError',
      'isTokenBudgetExceededError',
      'isValidCorrelationId',
      'loadSlos',
      'retryAfterMs',
    ]);
  });

  it('exposes the catalog namespace with METRICS and the naming rules', () => {
    expect(Array.isArray(api.catalog.METRICS)).toBe(true);
    expect(typeof api.catalog.namingProblems).toBe('function');
    expect(api.OTHER).toBe('_OTHER');
    expect(api.OPERATION_KINDS).toEqual(['agent', 'workflow', 'step', 'tool', 'llm']);
    expect(Object.isFrozen(api.CONTENT_TYPES)).toBe(true);
  });

  it('creates a working handle from the package entry point', async () => {
    const obs = api.createObservability({ runtimeMetrics: false, logger: false });
    expect(obs.instrumentTool((x: number) => x + 1, { tool: 't' })(1)).toBe(2);
    expect((await obs.metrics()).body).toContain('gen_ai_execute_tool_duration_seconds_count{gen_ai_tool_name="t",gen_ai_agent_name="",error_type=""} 1\n');
    await obs.shutdown();
  });
});
