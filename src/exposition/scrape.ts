/**
 * Serving scrapes over HTTP with bounded memory and a bounded event-loop block.
 *
 * A scrape is a *pass*: one serialization of the registry, in one format and one encoding,
 * streamed into the sockets of the requests that joined it. Policy (documented in
 * docs/exposition.md):
 * - A request joins a pass of its variant (format x encoding) that has not sent its first
 *   byte yet: scrapers that arrive together share one serialization, so five cost about what
 *   one costs. Otherwise it opens a new pass.
 * - At most `maxConcurrentScrapes` passes serialize at once; further passes wait in order
 *   (and keep collecting joiners while they wait).
 * - Past `maxPendingScrapes` requests in flight, a new one gets `503` with `Retry-After`.
 * - Generation pauses while any member's socket is full and resumes on `'drain'`, so a pass
 *   holds about one chunk (64 KiB of text) however large the body is; a member that takes
 *   nothing for `stallTimeoutSeconds` is cut so it cannot hold up the others.
 * - Each request has a deadline: Prometheus's `X-Prometheus-Scrape-Timeout-Seconds` when
 *   present (capped), else `timeoutSeconds`. Past it, or when the client goes away, the request
 *   is dropped; a pass with no members left stops and frees what it holds.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { constants as zlib, createGzip, type Gzip } from 'node:zlib';
import type { Registry } from 'prom-client';
import { boolean, numberIn, optionsObject, positive, positiveInt } from '../catalog/validate.js';
import { createAuthGuard, type AuthGuard, type ScrapeAuthOptions } from './auth.js';
import { CONTENT_TYPES, ScrapeAbortedError, TextSink, writeRegistry, type ChunkConsumer, type ExpositionFormat } from './format.js';
import { acceptsGzip, negotiateFormat } from './negotiate.js';

/** How /metrics behaves under load; every field has a default. */
export interface ScrapeOptions {
  /**
   * Deadline of a scrape whose request carries no `X-Prometheus-Scrape-Timeout-Seconds`
   * (that header is honoured up to {@link MAX_SCRAPE_TIMEOUT_SECONDS}). @default 30
   */
  readonly timeoutSeconds?: number;
  /** Answer gzip when the request's `Accept-Encoding` allows it. @default true */
  readonly compression?: boolean;
  /**
   * Answer OpenMetrics (with exemplars) when the request prefers it; `false` always answers
   * text 0.0.4, for consumers that mis-read OpenMetrics. @default true
   */
  readonly openMetrics?: boolean;
  /** Serializations running at once (scrapes that arrive together share one). @default 2 */
  readonly maxConcurrentScrapes?: number;
  /** Requests served or waiting at once; beyond it a scrape gets `503` and `Retry-After`. @default 32 */
  readonly maxPendingScrapes?: number;
  /** A client whose socket takes nothing for this long is cut (it would hold up the scrapes sharing its pass). @default 10 */
  readonly stallTimeoutSeconds?: number;
  /**
   * Credentials a scrape must carry (bearer token or basic auth); without them the answer is
   * `401` with `WWW-Authenticate`, counted as `outcome="unauthorized"`. @default no auth
   */
  readonly auth?: ScrapeAuthOptions;
}

/** The largest scrape deadline a request header may ask for. */
export const MAX_SCRAPE_TIMEOUT_SECONDS = 600;
/** Bytes handed to sockets per write; also zlib's output chunk. */
const OUT_CHUNK = 64 * 1024;

interface ResolvedScrapeOptions {
  readonly timeoutMs: number;
  readonly compression: boolean;
  readonly openMetrics: boolean;
  readonly maxConcurrent: number;
  readonly maxPending: number;
  readonly stallMs: number;
  readonly auth: AuthGuard | undefined;
}

export function resolveScrapeOptions(o: ScrapeOptions | undefined, path: string): ResolvedScrapeOptions {
  const opts = (o === undefined ? {} : optionsObject(o, path)) as ScrapeOptions;
  const timeout = positive(opts.timeoutSeconds, `${path}.timeoutSeconds`, 30);
  if (timeout > MAX_SCRAPE_TIMEOUT_SECONDS) numberIn(timeout, `${path}.timeoutSeconds`, 0, MAX_SCRAPE_TIMEOUT_SECONDS);
  return {
    timeoutMs: timeout * 1000,
    compression: boolean(opts.compression, `${path}.compression`, true),
    openMetrics: boolean(opts.openMetrics, `${path}.openMetrics`, true),
    maxConcurrent: positiveInt(opts.maxConcurrentScrapes, `${path}.maxConcurrentScrapes`, 2),
    maxPending: positiveInt(opts.maxPendingScrapes, `${path}.maxPendingScrapes`, 32),
    stallMs: positive(opts.stallTimeoutSeconds, `${path}.stallTimeoutSeconds`, 10) * 1000,
    auth: createAuthGuard(opts.auth, `${path}.auth`),
  };
}

/** The request's deadline in ms: the Prometheus header when it reads as a sane number, else the default. */
function deadlineMs(req: IncomingMessage, fallbackMs: number): number {
  const h = req.headers['x-prometheus-scrape-timeout-seconds'];
  const v = typeof h === 'string' && h.length <= 32 ? Number(h) : NaN;
  return v > 0 && Number.isFinite(v) ? Math.min(v, MAX_SCRAPE_TIMEOUT_SECONDS) * 1000 : fallbackMs;
}

function successHeaders(format: ExpositionFormat, gzip: boolean): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    'Content-Type': CONTENT_TYPES[format],
    'Cache-Control': 'no-store',
    // The body depends on both, whatever this one request got.
    Vary: 'Accept, Accept-Encoding',
  };
  if (gzip) h['Content-Encoding'] = 'gzip';
  return h;
}

/** How a request to a handler ended (`agentobs_scrapes_total{outcome}`). */
export const SCRAPE_OUTCOMES = ['served', 'rejected', 'abandoned', 'failed', 'unauthorized'] as const;
export type ScrapeOutcome = (typeof SCRAPE_OUTCOMES)[number];
/** Counts outcomes (pre-bound series of the self-metric). */
export type ScrapeCounter = (outcome: ScrapeOutcome) => void;

/** One request served by a pass. */
class Member {
  /** Called once when this member's socket drains (or it leaves) while the pass waits on it. */
  release: (() => void) | undefined;
  /** Set when the pass ended for it; a member that closes without one was abandoned. */
  outcome: ScrapeOutcome | undefined;
  private readonly deadline: NodeJS.Timeout;
  private stall: NodeJS.Timeout | undefined;
  private readonly onDrain = (): void => this.drained();

  constructor(
    readonly res: ServerResponse,
    timeoutMs: number,
    private readonly stallMs: number,
  ) {
    this.deadline = setTimeout(() => res.destroy(), timeoutMs);
    this.deadline.unref();
  }

  /** Writes one chunk; when the socket is full, `release` runs once it drains. */
  write(chunk: Buffer, release: () => void): boolean {
    if (this.res.write(chunk)) return true;
    this.release = release;
    this.res.once('drain', this.onDrain);
    this.stall = setTimeout(() => this.res.destroy(), this.stallMs);
    this.stall.unref();
    return false;
  }

  private drained(): void {
    clearTimeout(this.stall);
    this.stall = undefined;
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  /** Stops its timers and lets the pass go on without it. */
  leave(): void {
    clearTimeout(this.deadline);
    this.res.off('drain', this.onDrain);
    this.drained();
  }
}

/**
 * The sockets of a pass as one Writable: each chunk goes to every member, and the callback
 * (so the next chunk, and generation upstream) waits until every full socket drained.
 * Headers go out with the first chunk, so a failure before it can still answer 500.
 */
class FanOut extends Writable {
  constructor(private readonly pass: Pass) {
    super({ highWaterMark: OUT_CHUNK });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const pass = this.pass;
    if (!pass.started) pass.start();
    let waiting = 1;
    const release = (): void => {
      if (--waiting === 0) callback();
    };
    for (const m of pass.members) if (!m.write(chunk, release)) waiting++;
    release();
  }
}

/** An adapter from a Writable's backpressure to the sink's consumer interface. */
function consumerOf(w: Writable): ChunkConsumer {
  return {
    write: (chunk) => w.write(chunk),
    drained: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          w.off('drain', done);
          w.off('close', done);
          resolve();
        };
        w.on('drain', done);
        w.on('close', done);
      }),
  };
}

class Pass {
  readonly members = new Set<Member>();
  /** True once the first byte went out: no one joins after that. */
  started = false;
  running = false;
  private sink: TextSink | undefined;
  private fan: FanOut | undefined;
  private gzip: Gzip | undefined;

  constructor(
    readonly format: ExpositionFormat,
    readonly gzipped: boolean,
  ) {}

  /** Sends the headers to every member (called with the first chunk). */
  start(): void {
    this.started = true;
    const headers = successHeaders(this.format, this.gzipped);
    for (const m of this.members) m.res.writeHead(200, headers);
  }

  /** Serializes into the members' sockets; resolves when the pass is over, whatever happened. */
  async run(registry: Registry, onError: (e: unknown) => void): Promise<void> {
    this.running = true;
    const fan = new FanOut(this);
    this.fan = fan;
    let head: Writable = fan;
    if (this.gzipped) {
      // Level 1: a scrape body is repetitive enough that it compresses ~10x even so, for a
      // fraction of the CPU of the default level (measured in docs/benchmarks.md).
      const gzip = createGzip({ level: zlib.Z_BEST_SPEED, chunkSize: OUT_CHUNK });
      gzip.pipe(fan);
      this.gzip = gzip;
      head = gzip;
    }
    const sink = new TextSink(consumerOf(head), this.format);
    this.sink = sink;
    // Errors of the streams themselves (a member vanished mid-write) end the pass quietly.
    fan.on('error', () => this.abort());
    this.gzip?.on('error', () => this.abort());
    try {
      if (this.members.size === 0) return;
      await writeRegistry(registry, sink, onError);
      await new Promise<void>((resolve) => {
        fan.once('finish', resolve);
        fan.once('close', resolve);
        head.end();
      });
      if (!this.started) this.start();
      for (const m of this.members) {
        m.outcome = 'served';
        m.res.end();
      }
    } catch (e) {
      if (e instanceof ScrapeAbortedError) return;
      onError(e);
      for (const m of this.members) {
        m.outcome = 'failed';
        if (this.started) m.res.destroy();
        else m.res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      }
    } finally {
      this.running = false;
      this.sink = undefined;
      this.gzip?.destroy();
      fan.destroy();
    }
  }

  /** Stops generation and frees the streams (no member left, or the handler closed). */
  abort(): void {
    this.sink?.abort();
    this.gzip?.destroy();
    this.fan?.destroy();
  }
}

/**
 * The scrape scheduler behind one handler: groups requests into passes, limits how many
 * run, and cleans up after clients that leave.
 */
export class ScrapeServer {
  private readonly options: ResolvedScrapeOptions;
  /** Passes not yet started or still running, in arrival order. */
  private readonly passes: Pass[] = [];
  private pending = 0;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly onError: (e: unknown) => void,
    private readonly count: ScrapeCounter,
    options: ScrapeOptions | undefined,
    path: string,
  ) {
    this.options = resolveScrapeOptions(options, path);
  }

  /** The node:http / Express handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    // Before anything else, so that an unauthenticated client learns nothing (not even the formats).
    if (this.options.auth !== undefined && !this.options.auth(req, res)) {
      this.count('unauthorized');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const format = this.options.openMetrics ? negotiateFormat(req.headers.accept) : 'prometheus';
    const gzip = this.options.compression && acceptsGzip(req.headers['accept-encoding']);
    if (req.method === 'HEAD') {
      res.writeHead(200, successHeaders(format, gzip)).end();
      return;
    }
    if (this.closed || this.pending >= this.options.maxPending) {
      this.count('rejected');
      res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8' }).end('too many concurrent scrapes\n');
      return;
    }
    let pass = this.passes.find((p) => !p.started && p.format === format && p.gzipped === gzip);
    if (pass === undefined) {
      pass = new Pass(format, gzip);
      this.passes.push(pass);
      // On the next turn, so that requests arriving together join before the first byte.
      setImmediate(() => this.schedule());
    }
    const member = new Member(res, deadlineMs(req, this.options.timeoutMs), this.options.stallMs);
    const owner = pass;
    owner.members.add(member);
    this.pending++;
    res.once('close', () => {
      this.count(member.outcome ?? 'abandoned');
      this.pending--;
      owner.members.delete(member);
      member.leave();
      if (owner.members.size === 0) owner.abort();
    });
  };

  /** Aborts every pass and answers new requests 503 (the root handle shut down). */
  close(): void {
    this.closed = true;
    for (const p of this.passes.splice(0)) {
      p.abort();
      for (const m of p.members) m.res.destroy();
    }
  }

  private schedule(): void {
    let running = 0;
    for (const p of this.passes) if (p.running) running++;
    for (const p of this.passes) {
      if (running >= this.options.maxConcurrent) return;
      if (p.running) continue;
      running++;
      void p.run(this.registry, this.onError).finally(() => {
        const i = this.passes.indexOf(p);
        if (i !== -1) this.passes.splice(i, 1);
        this.schedule();
      });
    }
  }
}
