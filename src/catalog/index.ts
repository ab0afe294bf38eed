export {
  METRICS, CALL_DURATION_BUCKETS, AGENT_DURATION_BUCKETS, WORKFLOW_DURATION_BUCKETS, TOKEN_BUCKETS,
  SHORT_DURATION_BUCKETS, ATTEMPT_BUCKETS, GC_DURATION_BUCKETS, HTTP_DURATION_BUCKETS, CHUNK_INTERVAL_BUCKETS, httpServerRequestDuration, correlationIdsReplaced, scrapes,
  llmCallDuration, llmTokenUsage, llmTimeToFirstChunk, llmTimePerOutputChunk, llmStreams, llmTokenDetails, llmCost, agentDuration, toolDuration,
  workflowDuration, stepDuration,
  operationActive, poolUsage, poolLimit, poolUtilization, poolWaitTime, poolRejections, rateLimitLimit,
  rateLimitRemaining, rateLimitUtilization, rateLimitHeadersInvalid, llmThrottled, tokenBudgetUsage, tokenBudgetLimit, tokenBudgetUtilization,
  retryAttempts, retryExhausted, breakerState, breakerTransitions, breakerCalls, breakerCallDuration,
  breakerFailureRatio, sloObjective, sloErrorBudgetRemaining, sloBurnRate, sloLatency, eventLoopUtilization,
  internalErrors, labelOverflow, labelSanitized, buildInfo, eventLoopLagMin, eventLoopLagMax, eventLoopLagMean,
  eventLoopLagStddev, eventLoopLagP50, eventLoopLagP90, eventLoopLagP99, gcDuration, heapUsed, heapTotal, heapLimit,
  externalMemory, heapSpaceTotal, heapSpaceUsed, heapSpaceAvailable, activeResources, processCpuUser, processCpuSystem,
  processCpu, processResidentMemory, processStartTime, processOpenFds, processMaxFds, nodeVersionInfo,
} from './metrics.js';
export type {
  MetricDef, CounterDef, GaugeDef, HistogramDef, LabelOf, CatalogMetricName, CatalogHistogramName,
} from './metrics.js';
export {
  BASE_UNITS, assertLabelName, assertMetricName, namingProblems, validateBuckets, exponentialBuckets,
} from './naming.js';
export type { BaseUnit, Unit, MetricType, MetricShape } from './naming.js';
