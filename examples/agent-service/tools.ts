/**
 * The agent's tools. Each one does real work on a small built-in corpus (a search index,
 * a support knowledge base, an arithmetic evaluator) behind a simulated upstream whose
 * latency and failures come from the current {@link Faults}.
 */
import {
  InvalidExpressionError, RemoteToolError, ToolRateLimitError, ToolTimeoutError, UpstreamUnavailableError, type ServiceError,
} from './errors.js';
import { toolErrorRate, type Faults, type ToolName } from './faults.js';
import { sampleLatencyMs, sleep, type Rng } from './random.js';

/** Per-call context: the task's random stream (drives the simulated upstream only) and its id. */
export interface ToolContext {
  readonly rng: Rng;
  /** The task the call belongs to; a downstream service keys its own random stream by it. */
  readonly taskId: string;
}

/** A source a tool result cites. */
export interface Source {
  readonly title: string;
  readonly url: string;
}

/** What every tool returns: text for the model's context, plus citable sources. */
export interface ToolResult {
  readonly tool: ToolName;
  /** One fact per line, each starting with `- `. Empty when nothing matched. */
  readonly content: string;
  readonly sources: readonly Source[];
}

export interface WebSearchArgs {
  readonly query: string;
  readonly limit?: number;
}
export interface KbLookupArgs {
  readonly query: string;
}
export interface CalculatorArgs {
  readonly expression: string;
}

/** The tools as plain async functions, ready to be wrapped by `obs.instrumentTool`. */
export interface Toolbox {
  web_search(args: WebSearchArgs, ctx: ToolContext): Promise<ToolResult>;
  kb_lookup(args: KbLookupArgs, ctx: ToolContext): Promise<ToolResult>;
  calculator(args: CalculatorArgs, ctx: ToolContext): Promise<ToolResult>;
}

// ── Simulated upstreams ───────────────────────────────────────────────────────────────

interface FailureMode {
  readonly weight: number;
  /** How long the failing call takes; a 503 comes back faster than an answer, a hung upstream never does. */
  readonly delayMs: (latencyMs: number, faults: Faults) => number;
  readonly make: (tool: ToolName, faults: Faults) => ServiceError;
}

const UNAVAILABLE: FailureMode = { weight: 0.5, delayMs: (l) => l * 0.3, make: (t) => new UpstreamUnavailableError(t, 503) };
const THROTTLED: FailureMode = { weight: 0.3, delayMs: (l) => l * 0.05, make: (t) => new ToolRateLimitError(t) };
/** An injected timeout waits the full timeout, as a hung upstream would. */
const HUNG: FailureMode = { weight: 0.2, delayMs: (_l, f) => f.toolTimeoutMs, make: (t, f) => new ToolTimeoutError(t, f.toolTimeoutMs) };

const FAILURE_MODES: Readonly<Record<ToolName, readonly FailureMode[]>> = {
  web_search: [UNAVAILABLE, THROTTLED, HUNG],
  kb_lookup: [{ ...UNAVAILABLE, weight: 0.6 }, { ...HUNG, weight: 0.4 }],
  // The calculator runs in a remote sandbox, which can be down or hang like any upstream.
  calculator: [{ ...UNAVAILABLE, weight: 0.5 }, { ...HUNG, weight: 0.5 }],
};

function pickWeighted(modes: readonly FailureMode[], u: number): FailureMode {
  const total = modes.reduce((s, m) => s + m.weight, 0);
  let x = u * total;
  for (const m of modes) {
    x -= m.weight;
    if (x < 0) return m;
  }
  return modes[modes.length - 1] as FailureMode;
}

/**
 * One round trip to a tool's upstream. Draws exactly three numbers (fail?, which failure,
 * latency) before the first await, whatever the settings, so a task's random stream stays
 * aligned when the fault settings change between runs.
 */
async function upstream(tool: ToolName, faults: Faults, rng: Rng): Promise<void> {
  const fail = rng.chance(toolErrorRate(faults, tool));
  const u = rng.next();
  const latency = sampleLatencyMs(rng, faults.toolLatencyMs, faults.toolLatencyJitterMs);
  if (fail) {
    const mode = pickWeighted(FAILURE_MODES[tool], u);
    await sleep(Math.min(mode.delayMs(latency, faults), faults.toolTimeoutMs));
    throw mode.make(tool, faults);
  }
  if (latency > faults.toolTimeoutMs) {
    await sleep(faults.toolTimeoutMs);
    throw new ToolTimeoutError(tool, faults.toolTimeoutMs);
  }
  await sleep(latency);
}

// ── Corpus ────────────────────────────────────────────────────────────────────────────

interface Doc extends Source {
  readonly text: string;
  readonly keywords: readonly string[];
}

const WEB: readonly Doc[] = [
  {
    title: 'Node.js release schedule',
    url: 'https://nodejs.org/en/about/previous-releases',
    text: 'Even-numbered Node.js releases become LTS in October and get 30 months of support; Node 20 and 22 are LTS lines.',
    keywords: ['node', 'node.js', 'lts', 'release', 'releases', 'version', 'support'],
  },
  {
    title: 'OpenTelemetry overview',
    url: 'https://opentelemetry.io/docs/what-is-opentelemetry/',
    text: 'OpenTelemetry is a vendor-neutral framework for traces, metrics and logs; its metrics can be exported to Prometheus.',
    keywords: ['opentelemetry', 'otel', 'tracing', 'traces', 'telemetry', 'observability', 'prometheus'],
  },
  {
    title: 'Prometheus data model',
    url: 'https://prometheus.io/docs/concepts/data_model/',
    text: 'Prometheus stores time series identified by a metric name and key-value labels, scraped over HTTP.',
    keywords: ['prometheus', 'metrics', 'labels', 'scrape', 'time', 'series'],
  },
  {
    title: 'EU data residency: rollout status',
    url: 'https://status.example.com/incidents/eu-residency',
    text: 'EU data residency is generally available for Team and Enterprise workspaces; migration of existing workspaces runs through Q3.',
    keywords: ['eu', 'europe', 'residency', 'gdpr', 'rollout', 'region', 'data'],
  },
  {
    title: 'Streaming responses with server-sent events',
    url: 'https://developer.example.com/docs/streaming',
    text: 'The API streams tokens as server-sent events when `stream: true` is set; usage arrives in the final event.',
    keywords: ['streaming', 'stream', 'sse', 'events', 'api', 'responses', 'tokens'],
  },
  {
    title: 'Carrier transit times',
    url: 'https://shipping.example.com/transit-times',
    text: 'Standard international parcels to Canada take 5-8 business days; express takes 2-3 business days.',
    keywords: ['shipping', 'canada', 'delivery', 'transit', 'international', 'express'],
  },
  {
    title: 'Rotating credentials safely',
    url: 'https://security.example.com/guides/key-rotation',
    text: 'Rotate API keys by creating a new key, deploying it, then revoking the old one; never reuse revoked keys.',
    keywords: ['rotate', 'rotation', 'api', 'key', 'keys', 'credentials', 'security'],
  },
];

const KB: readonly Doc[] = [
  {
    title: 'KB-1001 Resetting your password',
    url: 'https://support.example.com/kb/1001',
    text: 'Use "Forgot password" on the sign-in page; the reset link is valid for 30 minutes. SSO users reset through their identity provider.',
    keywords: ['password', 'reset', 'sign', 'login', 'forgot', 'sso'],
  },
  {
    title: 'KB-1042 Refund policy',
    url: 'https://support.example.com/kb/1042',
    text: 'Monthly plans are not refunded; annual plans are refunded pro rata within 30 days of renewal.',
    keywords: ['refund', 'refunds', 'annual', 'monthly', 'renewal', 'money', 'cancel'],
  },
  {
    title: 'KB-1107 Plans and pricing',
    url: 'https://support.example.com/kb/1107',
    text: 'Pro costs $49 per user per month; Team costs $79 per user per month and adds SSO and audit logs.',
    keywords: ['pricing', 'price', 'plan', 'plans', 'pro', 'team', 'tier', 'tiers', 'cost'],
  },
  {
    title: 'KB-1210 Cancelling a subscription',
    url: 'https://support.example.com/kb/1210',
    text: 'Cancel from Settings > Billing; access continues until the end of the paid period, unused days become account credit.',
    keywords: ['cancel', 'cancelling', 'subscription', 'billing', 'credit', 'prorated'],
  },
  {
    title: 'KB-1315 Shipping hardware keys',
    url: 'https://support.example.com/kb/1315',
    text: 'Hardware security keys ship from Rotterdam; Canada and the US are served by express courier.',
    keywords: ['shipping', 'ship', 'hardware', 'canada', 'delivery', 'order'],
  },
  {
    title: 'KB-1402 API keys',
    url: 'https://support.example.com/kb/1402',
    text: 'Workspace admins create and revoke API keys under Settings > API; each key can be scoped to read or write.',
    keywords: ['api', 'key', 'keys', 'rotate', 'revoke', 'token', 'scope'],
  },
  {
    title: 'KB-1520 Support hours',
    url: 'https://support.example.com/kb/1520',
    text: 'Support answers from 08:00 to 20:00 CET on weekdays; Enterprise has 24/7 on-call support.',
    keywords: ['support', 'hours', 'time', 'zone', 'timezone', 'weekend', 'contact'],
  },
  {
    title: 'KB-1633 Streaming in the SDK',
    url: 'https://support.example.com/kb/1633',
    text: 'SDK versions 3.2 and later support streaming; older versions buffer the full response.',
    keywords: ['streaming', 'stream', 'sdk', 'responses', 'api'],
  },
];

const STOPWORDS = new Set(['the', 'a', 'an', 'is', 'are', 'of', 'to', 'for', 'and', 'or', 'in', 'on', 'my', 'your', 'how', 'what', 'do', 'does', 'i', 'can', 'it', 'with']);

/** Lower-case content words of a text. */
export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[a-z][a-z0-9.]*[a-z0-9]|[a-z]/g) ?? []).filter((w) => !STOPWORDS.has(w));
}

function search(corpus: readonly Doc[], query: string, limit: number): Doc[] {
  const q = new Set(terms(query));
  return corpus
    .map((doc, i) => ({ doc, i, score: doc.keywords.reduce((s, k) => s + (q.has(k) ? 1 : 0), 0) }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, limit)
    .map((r) => r.doc);
}

function result(tool: ToolName, docs: readonly Doc[]): ToolResult {
  return {
    tool,
    content: docs.map((d) => `- ${d.text} [${d.title}]`).join('\n'),
    sources: docs.map((d) => ({ title: d.title, url: d.url })),
  };
}

// ── Calculator ────────────────────────────────────────────────────────────────────────

/**
 * Evaluates `+ - * / ^`, parentheses and unary minus by recursive descent: no `eval`,
 * so an expression lifted from user text cannot run code.
 */
export function evaluate(expression: string): number {
  if (expression.length > 200) throw new InvalidExpressionError(expression.slice(0, 200), 'longer than 200 characters');
  const tokens = expression.match(/\d+(?:\.\d+)?|[-+*/^()]|\S/g) ?? [];
  let i = 0;
  const fail = (why: string): never => {
    throw new InvalidExpressionError(expression, why);
  };
  const peek = (): string | undefined => tokens[i];
  const expr = (): number => {
    let v = term();
    while (peek() === '+' || peek() === '-') v = tokens[i++] === '+' ? v + term() : v - term();
    return v;
  };
  const term = (): number => {
    let v = power();
    while (peek() === '*' || peek() === '/') {
      if (tokens[i++] === '*') v *= power();
      else {
        const d = power();
        if (d === 0) fail('division by zero');
        v /= d;
      }
    }
    return v;
  };
  const power = (): number => {
    const base = unary();
    if (peek() !== '^') return base;
    i++;
    return base ** power();
  };
  const unary = (): number => {
    if (peek() === '-') {
      i++;
      return -unary();
    }
    return primary();
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) return fail('unexpected end');
    if (t === '(') {
      const v = expr();
      if (tokens[i++] !== ')') fail('missing ")"');
      return v;
    }
    if (!/^\d/.test(t)) return fail(`unexpected ${JSON.stringify(t)}`);
    return Number(t);
  };
  const v = expr();
  if (i < tokens.length) fail(`unexpected ${JSON.stringify(tokens[i])}`);
  if (!Number.isFinite(v)) fail('result is not finite');
  return v;
}

/**
 * Finds the arithmetic in a question, as a planner would: "15% of 2400" or an explicit
 * expression such as "(1200 - 350) * 1.2". `undefined` when there is none.
 */
export function extractExpression(question: string): string | undefined {
  const pct = /(\d+(?:\.\d+)?)\s*%\s*of\s*\$?(\d+(?:\.\d+)?)/i.exec(question);
  if (pct !== null) return `${pct[2]} * ${pct[1]} / 100`;
  for (const m of question.matchAll(/[-+*/^().\d\s]{3,}/g)) {
    const candidate = m[0].trim();
    if (/\d\s*[-+*/^]\s*[-(\d]/.test(candidate)) return candidate;
  }
  return undefined;
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, '');
}

// ── The toolbox ───────────────────────────────────────────────────────────────────────

/** Creates the tools; `faults` is read on every call, so run-time changes apply at once. */
export function createToolbox(faults: () => Faults): Toolbox {
  return {
    async web_search({ query, limit = 3 }, { rng }) {
      await upstream('web_search', faults(), rng);
      return result('web_search', search(WEB, query, limit));
    },
    async kb_lookup({ query }, { rng }) {
      await upstream('kb_lookup', faults(), rng);
      return result('kb_lookup', search(KB, query, 2));
    },
    async calculator({ expression }, { rng }) {
      await upstream('calculator', faults(), rng);
      const value = evaluate(expression);
      return { tool: 'calculator', content: `- ${expression} = ${formatNumber(value)}`, sources: [] };
    },
  };
}

// ── A tool served by another service ──────────────────────────────────────────────────

/** The body of `POST /tools/kb_lookup`. */
export interface RemoteToolRequest {
  readonly query: string;
  readonly task: string;
}

const ERROR_CODE = /^[a-z_]{1,64}$/;

/**
 * `kb_lookup` delegated to a downstream service's `POST /tools/kb_lookup` over HTTP, through
 * `fetchImpl` (the service passes `obs.instrumentFetch()`, which carries `traceparent` and
 * the correlation ID). A failure there comes back as a {@link RemoteToolError} with the
 * downstream code; an unreachable service is an {@link UpstreamUnavailableError}.
 */
export function remoteKbLookup(baseUrl: string, fetchImpl: typeof fetch): Toolbox['kb_lookup'] {
  const url = new URL('/tools/kb_lookup', baseUrl).href;
  return async ({ query }, { taskId }) => {
    let res: Response;
    try {
      const body: RemoteToolRequest = { query, task: taskId };
      res = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch {
      throw new UpstreamUnavailableError('kb_lookup', 503);
    }
    const json = (await res.json().catch(() => undefined)) as (ToolResult & { error?: { code?: unknown } }) | undefined;
    if (res.ok && json !== undefined && typeof json.content === 'string') return { tool: 'kb_lookup', content: json.content, sources: json.sources ?? [] };
    const code = json?.error?.code;
    throw typeof code === 'string' && ERROR_CODE.test(code) ? new RemoteToolError('kb_lookup', code, res.status) : new UpstreamUnavailableError('kb_lookup', res.status);
  };
}
