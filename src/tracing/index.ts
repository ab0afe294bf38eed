/** The tracing capability: what the root handle and the package entry point use. */
export { createTracing } from './api.js';
export type { Tracing, TracingApi } from './api.js';
export type { TracingOptions, CorrelationState, ExceptionContext, ExceptionMessageRedactor } from './state.js';
export type { LogFields, TraceIds } from './logs.js';
export type { HeaderCarrier } from './propagation.js';
export type { FetchLike } from './fetch.js';
export type {
  HttpHandler, HttpMiddleware, HttpMiddlewareOptions, FastifyTracingOptions, FastifyTracingPlugin, FastifyHooksLike,
} from './middleware.js';
export { SPAN_ATTRIBUTES } from './spans.js';
export { isValidCorrelationId, generateCorrelationId, MAX_CORRELATION_ID_LENGTH } from './correlation/id.js';
