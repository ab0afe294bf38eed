/**
 * agent-observability: RED/USE metrics, correlation tracing, resilience wrappers and SLA
 * checks for Node.js AI-agent services. This file is the whole public surface.
 */
export { createObservability } from './observability.js';
export type { Observability, ObservabilityOptions, CardinalityOptions, InstrumentOptions } from './observability.js';
export type {
  OperationHandle, WorkflowHandle, LlmCallHandle, LlmCallOptions, ToolOptions, StepOptions, OperationKind, AnyFunction,
} from './instrument/handles.js';
export { OPERATION_KINDS } from './instrument/handles.js';
export type { TokenUsage } from './instrument/recorder.js';
export { defaultErrorType } from './instrument/error-type.js';
export type { DiagLogger } from './internal/diag.js';
export type {
  MetricsHandler, MetricsServer, ListenOptions, ScrapeResult, FastifyInstanceLike, FastifyReplyLike, FastifyMetricsOptions,
} from './exposition/http.js';
export type { ExpositionFormat } from './exposition/format.js';
export { CONTENT_TYPES } from './exposition/format.js';
export { OTHER } from './metrics/labels.js';
export {
  AgentObservabilityError, ConfigError, isAgentObservabilityError, isConfigError,
} from './errors.js';
export type { AgentObservabilityErrorCode } from './errors.js';
export * as catalog from './catalog/index.js';
export { VERSION } from './version.js';
