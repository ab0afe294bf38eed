/**
 * Inbound HTTP: for node:http, Express and Fastify. Per request it
 *   1. takes the correlation ID from its header (validated; generated when absent or bad),
 *      sets it on the response, and runs the rest of the request in that correlation scope;
 *   2. extracts the W3C trace context through the registered propagator and starts a
 *      SERVER span (only when a tracer provider is registered);
 *   3. records `http_server_request_duration_seconds` by method, route template (never the
 *      raw URL; `_OTHER` when unknown) and status, with a `trace_id`/`span_id` exemplar when
 *      the server span is sampled.
 * The clock is read twice per request; both readings serve the metric and the span.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { httpServerRequestDuration } from '../catalog/metrics.js';
import { optionalFunc, optionsObject } from '../catalog/validate.js';
import { ConfigError } from '../errors.js';
import { labelKey, OTHER } from '../metrics/labels.js';
import type { HistogramFamily, HistogramSeries } from '../metrics/store.js';
import { liveTracer } from './provider.js';
import { cleanText, SPAN_ATTRIBUTES, recordFailure } from './spans.js';
import type { CorrelationState, TracingState } from './state.js';
import type { WallBase } from './wall-clock.js';

/** A node:http request handler. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;
/** Express-style middleware; also usable from plain node:http (`mw(req, res, () => handler(req, res))`). */
export type HttpMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Options of {@link TracingApi.httpMiddleware} and friends. */
export interface HttpMiddlewareOptions {
  /**
   * The route template of a request (`/users/:id`), read when the response ends. Never
   * return the raw URL: it is a metric label. `undefined` means unknown (`_OTHER`).
   * @default Express's `req.baseUrl + req.route.path` when present (Fastify: the route's URL)
   */
  readonly route?: (req: IncomingMessage) => string | undefined;
  /** Paths that are their own template (a node:http router with fixed paths), matched exactly, query ignored. */
  readonly routes?: readonly string[];
  /** Requests to leave alone: no correlation scope, span or metric (e.g. `/metrics` scrapes). */
  readonly ignore?: (req: IncomingMessage) => boolean;
}

/** Fastify plugin options: as {@link HttpMiddlewareOptions} (`route` defaults to the matched route's URL). */
export type FastifyTracingOptions = HttpMiddlewareOptions;

/** The parts of a Fastify request/reply we use. */
interface FastifyRequestLike {
  readonly raw: IncomingMessage;
  readonly routeOptions?: { readonly url?: string | undefined };
}
interface FastifyReplyLike {
  readonly raw: ServerResponse;
}
/** The part of a Fastify instance we use (`addHook`); a real `FastifyInstance` fits. */
export interface FastifyHooksLike {
  addHook(...args: never[]): unknown;
}
/** A Fastify plugin adding request tracing to the whole app: `app.register(obs.fastifyTracing)`. */
export type FastifyTracingPlugin = (instance: FastifyHooksLike, options?: FastifyTracingOptions) => Promise<void>;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
/** Bound series kept per middleware; further tuples are bound on each use (still correct, slower). */
const MAX_CACHED_SERIES = 2000;
const MAX_PATH = 256;

/** `http.request.method` / `http_request_method`: the known methods, else `_OTHER` (semantic conventions). */
export function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return OTHER;
  return METHODS.has(method) ? method : OTHER;
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

function expressRoute(req: IncomingMessage): string | undefined {
  const r = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: unknown };
  const path = r.route?.path;
  if (typeof path !== 'string') return undefined;
  return typeof r.baseUrl === 'string' ? `${r.baseUrl}${path}` : path;
}

/** Validated middleware settings. */
interface Settings {
  readonly route: (req: IncomingMessage) => string | undefined;
  readonly routes: ReadonlySet<string> | undefined;
  readonly ignore: ((req: IncomingMessage) => boolean) | undefined;
}

function settings(o: HttpMiddlewareOptions | undefined, path: string): Settings {
  if (o === undefined) return { route: expressRoute, routes: undefined, ignore: undefined };
  optionsObject(o, path);
  for (const k of ['route', 'ignore'] as const) optionalFunc(o[k], `${path}.${k}`);
  let routes: Set<string> | undefined;
  if (o.routes !== undefined) {
    if (!Array.isArray(o.routes)) throw new ConfigError(`${path}.routes`, 'an array of paths', o.routes);
    o.routes.forEach((r: unknown, i) => {
      if (typeof r !== 'string' || !r.startsWith('/')) throw new ConfigError(`${path}.routes[${i}]`, 'a path starting with "/"', r);
    });
    routes = new Set(o.routes);
  }
  return { route: o.route ?? expressRoute, routes, ignore: o.ignore };
}

/** One request in flight. */
export class ServerCall {
  private ended = false;
  private error: unknown;
  private hasError = false;

  constructor(
    private readonly http: HttpServerTracing,
    private readonly res: ServerResponse,
    readonly correlation: CorrelationState,
    private readonly span: Span | undefined,
    private readonly ctx: Context | undefined,
    private readonly t0: number,
    private readonly method: string,
    private readonly path: string,
    private readonly route: () => string | undefined,
    /** The wall-clock base the span started on (its end uses the same). */
    private readonly base: WallBase | undefined,
  ) {}

  /** Runs `fn` in this request's correlation scope and (with a span) trace context. */
  enter<R>(fn: () => R): R {
    const ctx = this.ctx;
    return this.http.state.store.run(this.correlation, ctx === undefined ? fn : () => context.with(ctx, fn));
  }

  /** Notes an exception the framework caught (recorded on the span when the response is a 5xx). */
  fail(err: unknown): void {
    this.error = err;
    this.hasError = true;
  }

  /** Ends the request: metric and span. `finished`: the response was sent in full. Idempotent; never throws. */
  end(finished: boolean): void {
    if (this.ended) return;
    this.ended = true;
    const http = this.http;
    try {
      const t1 = http.state.now();
      const res = this.res;
      const aborted = !finished;
      const status = res.headersSent ? res.statusCode : undefined;
      const statusLabel = status === undefined ? '' : status >= 100 && status <= 599 ? String(status) : OTHER;
      const errorType = aborted ? 'aborted' : status !== undefined && status >= 500 ? statusLabel : '';
      let route: string | undefined;
      try {
        route = this.route();
      } catch (e) {
        http.state.ctx.diag.error('http', e);
      }
      if (typeof route !== 'string' || route === '') route = http.settings.routes?.has(this.path) === true ? this.path : undefined;
      const d = (t1 - this.t0) / 1000;
      const span = this.span;
      if (d >= 0) {
        const series = http.series(this.method, route ?? OTHER, statusLabel, errorType);
        const ex = span === undefined ? undefined : http.state.exemplarOf(span);
        if (ex === undefined) series.observe(d);
        else series.observeWithExemplar(d, ex, http.state.timestamp(t1));
      }
      if (span !== undefined) {
        if (route !== undefined) {
          span.setAttribute('http.route', cleanText(route, MAX_PATH));
          span.updateName(`${this.method === OTHER ? 'HTTP' : this.method} ${cleanText(route, MAX_PATH)}`);
        }
        if (status !== undefined) span.setAttribute('http.response.status_code', status);
        if (errorType !== '') {
          const err = this.hasError ? this.error : undefined;
          if (err !== undefined) recordFailure(span, err, errorType, http.state.spanTime(this.base, t1), http.state);
          else {
            span.setAttribute(SPAN_ATTRIBUTES.errorType, errorType);
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
          }
        }
        span.end(http.state.spanTime(this.base, t1));
      }
    } catch (e) {
      http.state.ctx.diag.error('http', e);
    }
  }
}

/** One middleware's shared state: settings and its pre-bound series. */
export class HttpServerTracing {
  private readonly cache = new Map<string, HistogramSeries>();

  constructor(
    readonly state: TracingState,
    private readonly family: HistogramFamily,
    readonly settings: Settings,
  ) {}

  series(method: string, route: string, status: string, errorType: string): HistogramSeries {
    // Length-prefixed (injective): a route template may contain any separator we could pick.
    const key = labelKey([method, route, status, errorType]);
    let s = this.cache.get(key);
    if (s === undefined) {
      s = this.family.child([method, route, status, errorType]);
      if (this.cache.size < MAX_CACHED_SERIES) this.cache.set(key, s);
    }
    return s;
  }

  /** Starts tracking a request (unless ignored): sets the correlation header, starts the span. Never throws. */
  begin(req: IncomingMessage, res: ServerResponse, route?: () => string | undefined): ServerCall | undefined {
    const state = this.state;
    try {
      if (this.settings.ignore?.(req) === true) return undefined;
    } catch (e) {
      state.ctx.diag.error('http', e);
    }
    try {
      const t0 = state.now();
      const tracer = state.options.spans ? liveTracer() : undefined;
      const correlation = state.inbound(req.headers, tracer === undefined);
      if (!res.headersSent) res.setHeader(state.options.header, correlation.id);
      const method = normalizeMethod(req.method);
      const path = pathOf(req.url);
      let span: Span | undefined;
      let ctx: Context | undefined;
      let base: WallBase | undefined;
      if (tracer !== undefined) {
        const parent = propagation.extract(ROOT_CONTEXT, req.headers);
        base = state.spanBase(t0);
        const startTime = state.spanTime(base, t0);
        const attributes = {
          'http.request.method': method,
          'url.path': cleanText(path, MAX_PATH),
          'url.scheme': (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http',
          [SPAN_ATTRIBUTES.correlationId]: correlation.id,
        };
        const name = method === OTHER ? 'HTTP' : method;
        span = tracer.startSpan(
          name,
          startTime === undefined ? { kind: SpanKind.SERVER, attributes } : { kind: SpanKind.SERVER, attributes, startTime },
          parent,
        );
        ctx = trace.setSpan(parent, span);
      }
      const call = new ServerCall(this, res, correlation, span, ctx, t0, method, path, route ?? (() => this.settings.route(req)), base);
      res.once('finish', () => call.end(true));
      res.once('close', () => call.end(res.writableFinished));
      return call;
    } catch (e) {
      state.ctx.diag.error('http', e);
      return undefined;
    }
  }
}

export function createHttpServerTracing(state: TracingState, options: HttpMiddlewareOptions | undefined, path: string): HttpServerTracing {
  return new HttpServerTracing(state, state.ctx.histogram(httpServerRequestDuration), settings(options, path));
}

/** Express / node:http middleware. */
export function middleware(http: HttpServerTracing): HttpMiddleware {
  return function agentObservabilityTracing(req, res, next) {
    const call = http.begin(req, res);
    if (call === undefined) {
      next();
      return;
    }
    call.enter(() => next());
  };
}

/** Wraps a node:http handler: same shape back. */
export function wrapHandler<H extends HttpHandler>(http: HttpServerTracing, handler: H): H {
  const wrapped = function (this: unknown, req: IncomingMessage, res: ServerResponse): void {
    const call = http.begin(req, res);
    if (call === undefined) {
      handler.call(this, req, res);
      return;
    }
    call.enter(() => {
      try {
        handler.call(this, req, res);
      } catch (e) {
        call.fail(e);
        throw e;
      }
    });
  };
  return wrapped as H;
}

const CALL = Symbol('agent-observability.server-call');

/**
 * The Fastify plugin. Hooks: `onRequest` begins the request; `preValidation` re-enters its
 * context (Fastify runs body parsing from stream events, in another async context, so
 * validation, `preHandler` and the handler would otherwise lose it); `onError` notes the
 * exception; the response's own `finish`/`close` end it.
 */
export function fastifyPlugin(make: (options: FastifyTracingOptions | undefined) => HttpServerTracing): FastifyTracingPlugin {
  const plugin = async function agentObservabilityTracing(instance: FastifyHooksLike, options?: FastifyTracingOptions): Promise<void> {
    // Fastify passes `{}` when registered without options.
    const o = options !== undefined && Object.keys(options).length === 0 ? undefined : options;
    const http = make(o);
    const hasRoute = o?.route !== undefined;
    type Done = (err?: Error) => void;
    type WithCall = FastifyRequestLike & { [CALL]?: ServerCall };
    const addHook = instance.addHook.bind(instance) as unknown as (name: string, hook: (...args: never[]) => void) => unknown;
    addHook('onRequest', (request: WithCall, reply: FastifyReplyLike, done: Done) => {
      const call = http.begin(request.raw, reply.raw, hasRoute ? undefined : () => request.routeOptions?.url);
      if (call === undefined) {
        done();
        return;
      }
      request[CALL] = call;
      call.enter(() => done());
    });
    addHook('preValidation', (request: WithCall, _reply: FastifyReplyLike, done: Done) => {
      const call = request[CALL];
      if (call === undefined) done();
      else call.enter(() => done());
    });
    addHook('onError', (request: WithCall, _reply: FastifyReplyLike, error: unknown, done: Done) => {
      request[CALL]?.fail(error);
      done();
    });
  };
  // Like `fastify-plugin`: hooks apply to the whole app, not only to this plugin's scope.
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  Object.defineProperty(plugin, Symbol.for('fastify.display-name'), { value: 'agent-observability-tracing' });
  return plugin;
}

