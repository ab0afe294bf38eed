/**
 * agent-observability: RED/USE metrics, correlation tracing, resilience wrappers and SLA
 * checks for Node.js AI-agent services. This file is the whole public surface.
 */
export { createObservability } from './observability.js';
export type { Observability, ObservabilityOptions, CardinalityOptions, InstrumentOptions } from './observability.js';
export type {
  OperationHandle, WorkflowHandle, LlmCallHandle, LlmCallOptions, StreamChunk, UsageInput, ToolOptions, StepOptions, OperationKind, AnyFunction,
} from './instrument/handles.js';
export { OPERATION_KINDS } from './instrument/handles.js';
export type { TokenUsage, ModelPrice, PricingOptions } from './instrument/usage.js';
export { openaiUsage, anthropicUsage } from './instrument/usage.js';
export { defaultErrorType } from './instrument/error-type.js';
export type { DiagLogger } from './internal/diag.js';
export type {
  ExpositionApi, MetricsHandler, MetricsServer, ListenOptions, ScrapeOptions, ScrapeResult, FastifyInstanceLike, FastifyReplyLike,
  FastifyRequestLike, FastifyMetricsOptions, ExpositionFormat, ListenTlsOptions, ScrapeAuthOptions, BasicCredentials,
} from './exposition/index.js';
export { CONTENT_TYPES } from './exposition/index.js';
export { OTHER } from './metrics/labels.js';
export {
  AgentObservabilityError, ConfigError, isAgentObservabilityError, isConfigError,
  TimeoutError, CircuitOpenError, CircuitCapacityError, PoolRejectedError, TokenBudgetExceededError,
  isTimeoutError, isCircuitOpenError, isCircuitCapacityError, isPoolRejectedError, isTokenBudgetExceededError,
} from './errors.js';
export type { AgentObservabilityErrorCode, PoolRejectionReason } from './errors.js';
export type {
  ResilienceApi, BreakerInfo, BreakerState, CircuitBreakerHandle, CircuitBreakerOptions, OpossumOptions,
  PoolHandle, PoolOptions, PoolRunOptions, RetryEvent, RetryOptions, TimeoutOptions, PolicyBreaker, PolicyExecuteOptions,
  PolicyHandle, PolicyOptions, PolicyWrapOptions, HeadersLike, BudgetTokenType, TokenBudgetHandle,
  TokenBudgetOptions, CallContext, Guarded, Timers,
} from './resilience/index.js';
export { BREAKER_STATES, defaultRetryable, retryAfterMs } from './resilience/index.js';
export { defineSlo, loadSlos, SLO_TARGET_KINDS } from './catalog/slo.js';
export type {
  SloSpec, AvailabilitySloSpec, LatencySloSpec, SloTarget, SloTargetKind, AvailabilitySli, LatencySli, SloEvaluationOptions,
  SloAlertingOptions,
} from './catalog/slo.js';
export type {
  Sla, SlaReport, SloReport, SloStatus, SloWindowReport, SloBudgetReport, SloLatencyQuantiles, SloListener, HealthHandler,
  HealthHandlerOptions,
} from './sla/index.js';
export type {
  TracingApi, TracingOptions, ExceptionContext, ExceptionMessageRedactor, LogFields, TraceIds, HeaderCarrier, FetchLike, HttpHandler, HttpMiddleware,
  HttpMiddlewareOptions, FastifyTracingOptions, FastifyTracingPlugin, FastifyHooksLike,
} from './tracing/index.js';
export { isValidCorrelationId, SPAN_ATTRIBUTES } from './tracing/index.js';
export * as catalog from './catalog/index.js';
export { VERSION } from './version.js';
