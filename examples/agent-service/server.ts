/**
 * The HTTP API on node:http:
 *
 *   POST /tasks          {"question": "...", "id"?: "..."}  → the TaskResult (200, or 502 if the task failed)
 *   POST /tools/kb_lookup {"query": "...", "task": "..."}  → the tool's result (200, or 502 {"error": {code}}), for
 *                        an upstream service that delegates its knowledge-base lookups here
 *   GET  /metrics        Prometheus / OpenMetrics, content-negotiated (obs.metricsHandler())
 *   GET  /healthz        200 {"status":"ok"}, 503 while shutting down
 *   GET  /healthz/slo    the SLO report of obs.sla.check(): 200, or 503 while an SLO is in breach
 *   GET  /admin/faults   current fault settings
 *   POST /admin/faults   partial update, e.g. {"llmMode": "hard_fail"}, {"llmErrorRate": 0.5, "toolErrorRates": {"web_search": 1}}
 *   GET  /admin/stats    the service's own ledger of calls and failures, and load-generator stats
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthHandler, MetricsHandler } from 'agent-observability';
import type { Logger } from 'pino';
import type { TaskInput, TaskResult } from './agent.js';
import { ServiceError } from './errors.js';
import { FaultsValidationError, type Faults } from './faults.js';
import type { RemoteToolRequest, ToolResult } from './tools.js';

/** Largest request body we read. */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_QUESTION_CHARS = 2000;
const TASK_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ApiHandlerOptions {
  readonly runTask: (input: TaskInput) => Promise<TaskResult>;
  /** Runs this service's `kb_lookup` for a caller (`POST /tools/kb_lookup`). */
  readonly runKbLookup: (request: RemoteToolRequest) => Promise<ToolResult>;
  /** Serves `/metrics`; omitted when metrics have their own port. */
  readonly metrics?: MetricsHandler;
  /** Serves `/healthz/slo` (`obs.sla.healthHandler()`). */
  readonly sloHealth?: HealthHandler;
  readonly getFaults: () => Faults;
  /** Validates and applies a patch; throws {@link FaultsValidationError}. */
  readonly setFaults: (patch: unknown) => Faults;
  readonly stats: () => unknown;
  /** When set, `/admin/*` requires `Authorization: Bearer <token>`. */
  readonly adminToken?: string | undefined;
  /** True once shutdown began: new tasks get 503. */
  readonly draining: () => boolean;
  /** Called when a request finishes, for the service's own request counter. */
  readonly onResponse?: (method: string, route: string, status: number) => void;
  /** The service's logger (its lines carry the request's correlation and trace IDs). */
  readonly log: Logger;
}

/** The paths this API serves: route templates for the HTTP metrics (anything else is `_OTHER`). */
export const API_ROUTES = ['/tasks', '/tools/kb_lookup', '/healthz', '/healthz/slo', '/admin/faults', '/admin/stats', '/metrics'] as const;

/** An error that maps to one HTTP response. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(json);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', `Expected Content-Type application/json, got ${type}`);
  }
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `Request body is limited to ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `Request body is limited to ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `Request body is not valid JSON: ${(e as Error).message}`);
  }
}

function parseTask(body: unknown): TaskInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request', 'Expected a JSON object like {"question": "..."}');
  }
  const { question, id } = body as Record<string, unknown>;
  if (typeof question !== 'string' || question.trim() === '' || question.length > MAX_QUESTION_CHARS) {
    throw new HttpError(400, 'invalid_request', `Expected \`question\` to be a non-empty string of at most ${MAX_QUESTION_CHARS} characters`);
  }
  if (id !== undefined && (typeof id !== 'string' || !TASK_ID.test(id))) {
    throw new HttpError(400, 'invalid_request', 'Expected `id` to be 1-128 characters of A-Z a-z 0-9 . _ : -');
  }
  return id === undefined ? { question: question.trim() } : { question: question.trim(), id };
}

function parseToolRequest(body: unknown): RemoteToolRequest {
  const { query, task } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof query !== 'string' || query.length > MAX_QUESTION_CHARS || typeof task !== 'string' || !TASK_ID.test(task)) {
    throw new HttpError(400, 'invalid_request', 'Expected {"query": "<at most 2000 characters>", "task": "<task id>"}');
  }
  return { query, task };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header ?? '');
  const want = Buffer.from(`Bearer ${token}`);
  return got.length === want.length && timingSafeEqual(got, want);
}

interface Route {
  readonly methods: readonly string[];
  readonly admin?: boolean;
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
}

/** Builds the request handler; pass it to `http.createServer`. */
export function createApiHandler(o: ApiHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = new Map<string, Route>([
    [
      '/tasks',
      {
        methods: ['POST'],
        handle: async (req, res) => {
          if (o.draining()) throw new HttpError(503, 'shutting_down', 'The service is shutting down', { Connection: 'close', 'Retry-After': '5' });
          const task = parseTask(await readJson(req));
          const result = await o.runTask(task);
          const status = result.status === 'succeeded' ? 200 : 502;
          send(res, status, result);
          o.log.info({ task_id: result.id, status, duration_ms: Math.round(result.durationMs) }, 'task request served');
        },
      },
    ],
    [
      '/tools/kb_lookup',
      {
        methods: ['POST'],
        handle: async (req, res) => {
          if (o.draining()) throw new HttpError(503, 'shutting_down', 'The service is shutting down', { Connection: 'close', 'Retry-After': '5' });
          const request = parseToolRequest(await readJson(req));
          try {
            const result = await o.runKbLookup(request);
            send(res, 200, result);
            o.log.info({ task_id: request.task, tool: 'kb_lookup', status: 200 }, 'tool request served');
          } catch (e) {
            if (!(e instanceof ServiceError)) throw e;
            o.log.warn({ task_id: request.task, tool: 'kb_lookup', status: 502, error_type: e.code }, 'tool request failed');
            throw new HttpError(502, e.code, e.message);
          }
        },
      },
    ],
    [
      '/healthz',
      {
        methods: ['GET', 'HEAD'],
        handle: (_req, res) => {
          if (o.draining()) send(res, 503, { status: 'shutting_down' });
          else send(res, 200, { status: 'ok' });
        },
      },
    ],
    [
      '/admin/faults',
      {
        methods: ['GET', 'POST', 'PATCH'],
        admin: true,
        handle: async (req, res) => {
          if (req.method === 'GET') return send(res, 200, o.getFaults());
          const patch = await readJson(req);
          try {
            const next = o.setFaults(patch);
            o.log.info({ faults: patch }, 'faults updated');
            send(res, 200, next);
          } catch (e) {
            if (e instanceof FaultsValidationError) throw new HttpError(400, e.code, e.message);
            throw e;
          }
        },
      },
    ],
    ['/admin/stats', { methods: ['GET'], admin: true, handle: (_req, res) => send(res, 200, o.stats()) }],
  ]);
  const metrics = o.metrics;
  if (metrics !== undefined) routes.set('/metrics', { methods: ['GET', 'HEAD'], handle: (req, res) => metrics(req, res) });
  const sloHealth = o.sloHealth;
  if (sloHealth !== undefined) routes.set('/healthz/slo', { methods: ['GET', 'HEAD'], handle: (req, res) => sloHealth(req, res) });

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = routes.get(path);
    const method = req.method ?? 'GET';
    // While draining, no connection is kept for a next request: server.close() would otherwise wait
    // for a frequent client (a scraper, a health check) until the grace runs out.
    if (o.draining()) res.setHeader('Connection', 'close');
    // Scrapes are not requests of the service; counting them would make every scrape change what it reports.
    if (path !== '/metrics') res.once('finish', () => o.onResponse?.(method, route === undefined ? 'unmatched' : path, res.statusCode));

    const fail = (e: unknown): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) {
        send(res, e.status, { error: { code: e.code, message: e.message } }, e.headers);
        return;
      }
      o.log.error({ method, route: route === undefined ? 'unmatched' : path, err: e }, 'internal error');
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    };
    try {
      if (route === undefined) throw new HttpError(404, 'not_found', `No route ${path}`);
      if (!route.methods.includes(method)) {
        throw new HttpError(405, 'method_not_allowed', `${path} accepts ${route.methods.join(', ')}`, { Allow: route.methods.join(', ') });
      }
      if (route.admin === true && o.adminToken !== undefined && !bearerMatches(req.headers.authorization, o.adminToken)) {
        throw new HttpError(401, 'unauthorized', 'Admin endpoints need Authorization: Bearer <ADMIN_TOKEN>', { 'WWW-Authenticate': 'Bearer' });
      }
      const r = route.handle(req, res);
      if (r instanceof Promise) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  };
}
