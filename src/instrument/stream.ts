/**
 * Streamed LLM calls, observed in place. An LLM call that returns (or resolves to) an async
 * iterable, an SDK stream object or a web `ReadableStream` is not over when the object is
 * handed back: its duration runs to the last chunk, its first chunk gives the time to first
 * chunk, each later one a time per output chunk, and its usage arrives in the chunks.
 *
 * The caller keeps the very object the call returned (wrappers return the call's own promise,
 * so a stream cannot be swapped for another object): the observation is installed as own
 * properties on that instance, shadowing its prototype's methods, so identity, `instanceof`
 * and every other method stay as they were. Nothing is read ahead: a chunk is pulled from the
 * source only when the consumer asks for one.
 */
import type { CallSpan } from '../internal/span-hook.js';
import type { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from '../metrics/store.js';
import { UsageAccumulator, type TokenUsage } from './usage.js';

/** How a stream ended (the `outcome` label of `agentobs_llm_streams_total`). */
export type StreamOutcome = 'completed' | 'failed' | 'cancelled' | 'unconsumed';
export const STREAM_OUTCOMES: readonly StreamOutcome[] = Object.freeze(['completed', 'failed', 'cancelled', 'unconsumed']);

/** What a stream's observation needs from the recorder of its call. */
export interface StreamOwner {
  /** The recorder's clock (ms; NaN for a failed reading, already counted). */
  readClock(): number;
  /** Exemplar timestamp of an observation that ended at `t1`. */
  exemplarTimeOf(t1: number): number;
  /** Ends the call as a success at `t1`: duration, in-flight gauge, SLO taps, usage, span. */
  endStream(t0: number, t1: number, usage: TokenUsage | undefined, span: CallSpan | undefined): void;
  /** Ends the call as a failure (what a thrown error does), after recording the usage seen so far. */
  failStream(t0: number, err: unknown, usage: TokenUsage | undefined, span: CallSpan | undefined): void;
  /** Counts an internal failure of ours (never thrown). */
  internalError(component: string, err: unknown): void;
}

/** The chunk families an LLM handle's streams record into. */
export interface StreamFamilies {
  readonly firstChunk: HistogramFamily;
  readonly perChunk: HistogramFamily;
  readonly streams: CounterFamily;
}

/** A handle's chunk series, bound on its first stream: a handle that never streams exports none. */
interface BoundStreamSeries {
  readonly firstChunk: HistogramSeries;
  readonly perChunk: HistogramSeries;
  /** By outcome, in {@link STREAM_OUTCOMES} order, each bound when first used. */
  readonly outcomes: (CounterSeries | undefined)[];
}

/** What an LLM handle reads from each chunk; each is optional (and costs nothing when absent). */
export interface ChunkReaders {
  /** Usage reported by the chunk; the last defined value of each field wins. */
  readonly usage: ((chunk: never) => TokenUsage | undefined) | undefined;
  /** Whether the chunk is output (timed); every chunk when absent. */
  readonly output: ((chunk: never) => boolean) | undefined;
  /** The error the chunk reports (an error event), or undefined. */
  readonly error: ((chunk: never) => unknown) | undefined;
}

/** Per LLM handle: where its streams go and how their chunks are read. */
export class StreamBinding {
  private bound: BoundStreamSeries | undefined;

  constructor(
    private readonly families: StreamFamilies,
    /** The handle's label values (operation, provider, model, agent). */
    private readonly base: readonly string[],
    readonly readers: ChunkReaders,
  ) {}

  series(): BoundStreamSeries {
    return (this.bound ??= {
      firstChunk: this.families.firstChunk.child(this.base),
      perChunk: this.families.perChunk.child(this.base),
      outcomes: [undefined, undefined, undefined, undefined],
    });
  }

  count(outcome: StreamOutcome): void {
    const outcomes = this.series().outcomes;
    const i = STREAM_OUTCOMES.indexOf(outcome);
    (outcomes[i] ??= this.families.streams.child([...this.base, outcome])).inc();
  }
}

/**
 * One stream's observation. It holds nothing of the stream itself: it is the held value of a
 * FinalizationRegistry entry whose target is what the consumer holds, so a stream dropped
 * unread (or mid-way) still ends its call once it is collected.
 */
class StreamCall {
  private chunks = 0;
  /** Clock reading at the previous chunk (NaN before the first). */
  private last = NaN;
  /** Usage read from the chunks so far; created by the first chunk that reports any. */
  private acc: UsageAccumulator | undefined = undefined;
  /** Each reader is undefined once it threw: one internal error per stream and reader, not one per chunk. */
  private mapper: ((chunk: never) => TokenUsage | undefined) | undefined;
  private isOutput: ((chunk: never) => boolean) | undefined;
  private errorOf: ((chunk: never) => unknown) | undefined;
  /** The first error a chunk reported (`chunkError`): the call fails with it when the stream ends. */
  private reported: { readonly error: unknown } | undefined = undefined;
  private started = false;
  private done = false;
  private readonly series: BoundStreamSeries;
  /** Bound once per stream (not per chunk): the reactions of every `next()`. */
  readonly onResult: (r: unknown) => unknown;
  readonly onError: (e: unknown) => never;

  constructor(
    private readonly owner: StreamOwner,
    private readonly binding: StreamBinding,
    private readonly t0: number,
    private readonly span: CallSpan | undefined,
    /** When the stream was handed to the caller: the end of a stream that is never read. */
    private readonly handover: number,
  ) {
    this.series = binding.series();
    this.mapper = binding.readers.usage;
    this.isOutput = binding.readers.output;
    this.errorOf = binding.readers.error;
    this.onResult = (r) => {
      if (typeof r === 'object' && r !== null) {
        try {
          const res = r as IteratorResult<unknown>;
          if (res.done === true) this.complete();
          else this.chunk(res.value);
        } catch (e) {
          this.owner.internalError('stream', e);
        }
      }
      return r;
    };
    this.onError = (e) => {
      this.fail(e);
      throw e;
    };
  }

  /** Marks the first read; true the first time (the caller then moves the registry entry to its reader). */
  begin(): boolean {
    if (this.started) return false;
    this.started = true;
    return true;
  }

  /** A source's `next()` result, observed on a side branch that resolves to the very same result. */
  watch(p: unknown): Promise<unknown> {
    return Promise.resolve(p).then(this.onResult, this.onError);
  }

  chunk(value: unknown): void {
    if (this.done) return;
    const m = this.mapper;
    if (m !== undefined) this.readUsage(m, value);
    if (this.errorOf !== undefined && this.reported === undefined) this.readError(value);
    if (this.isOutput !== undefined && !this.output(value)) return;
    const t = this.owner.readClock();
    const n = this.chunks++;
    const d = (t - (n === 0 ? this.t0 : this.last)) / 1000;
    this.last = t;
    if (d >= 0) {
      if (n === 0) {
        const ex = this.span?.exemplar;
        if (ex === undefined) this.series.firstChunk.observe(d);
        else this.series.firstChunk.observeWithExemplar(d, ex, this.owner.exemplarTimeOf(t));
      } else this.series.perChunk.observe(d);
    }
  }

  private output(value: unknown): boolean {
    try {
      return (this.isOutput as (chunk: never) => boolean)(value as never) === true;
    } catch (e) {
      // Counted once; from then on every chunk is output.
      this.isOutput = undefined;
      this.owner.internalError('stream', e);
      return true;
    }
  }

  private readError(value: unknown): void {
    try {
      const err = (this.errorOf as (chunk: never) => unknown)(value as never);
      if (err !== undefined) this.reported = { error: err };
    } catch (e) {
      this.errorOf = undefined;
      this.owner.internalError('stream', e);
    }
  }

  private readUsage(m: (chunk: never) => TokenUsage | undefined, value: unknown): void {
    try {
      const u = m(value as never);
      if (u === undefined || u === null) return;
      (this.acc ??= new UsageAccumulator()).add(u);
    } catch (e) {
      this.mapper = undefined;
      this.owner.internalError('usage', e);
    }
  }

  private usage(): TokenUsage | undefined {
    return this.acc;
  }

  /** Read to the end. */
  complete(): void {
    this.end('completed', this.owner.readClock());
  }

  /** Never installed (patching failed): the call ends now, through the caller; this records nothing. */
  disown(): void {
    this.done = true;
  }

  /** The consumer stopped early (`return()`, `throw()`, `cancel()`). */
  stop(): void {
    this.end('cancelled', this.owner.readClock());
  }

  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    registry.unregister(this);
    this.binding.count('failed');
    this.spanDetails('failed');
    this.owner.failStream(this.t0, err, this.usage(), this.span);
  }

  end(outcome: Exclude<StreamOutcome, 'failed'>, t1: number): void {
    if (this.reported !== undefined && !this.done) {
      this.fail(this.reported.error);
      return;
    }
    if (this.done) return;
    this.done = true;
    registry.unregister(this);
    this.binding.count(outcome);
    this.spanDetails(outcome);
    this.owner.endStream(this.t0, t1, this.usage(), this.span);
  }

  /** What the consumer holds was collected: it stopped reading, or never began. */
  collected(): void {
    if (!this.started || this.chunks === 0) this.end(this.started ? 'cancelled' : 'unconsumed', this.handover);
    else this.end('cancelled', this.last);
  }

  /** Read in a way we cannot observe (a BYOB reader): the call ends as it did before streams were observed. */
  detach(): void {
    if (this.done) return;
    this.done = true;
    registry.unregister(this);
    this.owner.endStream(this.t0, this.handover, undefined, this.span);
  }

  private spanDetails(outcome: StreamOutcome): void {
    this.span?.stream(outcome, this.chunks);
  }

  /** Moves the registry entry from the stream to what now reads it. */
  follow(reader: object): void {
    registry.unregister(this);
    if (!this.done) registry.register(reader, this, this);
  }
}

// One registry for every stream: a call is a held value, never the target, so it does not keep its stream alive.
const registry = new FinalizationRegistry<StreamCall>((call) => {
  try {
    call.collected();
  } catch {
    // Recording paths guard themselves; a finalizer must not throw either.
  }
});

/**
 * An iterator over a source iterator, observing each result. Used where the stream hands out
 * iterators (`[Symbol.asyncIterator]()`); an object that is its own iterator (an async
 * generator) is patched in place instead.
 */
class ObservedIterator {
  constructor(
    private readonly src: AsyncIterator<unknown>,
    private readonly call: StreamCall,
  ) {}

  // `arguments`, not a rest parameter: no array per chunk; `for await` calls next() without one.
  next(value?: unknown): Promise<unknown> {
    let p: unknown;
    try {
      p = arguments.length === 0 ? this.src.next() : this.src.next(value);
    } catch (e) {
      this.call.fail(e);
      throw e;
    }
    return this.call.watch(p);
  }

  return(value?: unknown): Promise<unknown> {
    this.call.stop();
    const r = this.src.return;
    return typeof r === 'function' ? r.call(this.src, value) : Promise.resolve({ done: true, value });
  }

  throw(err?: unknown): Promise<unknown> {
    this.call.stop();
    const t = this.src.throw;
    return typeof t === 'function' ? t.call(this.src, err) : Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function define(obj: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, configurable: true, enumerable: false });
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** An object that is its own async iterator (an async generator): its own methods shadow the prototype's. */
function patchIterator(obj: Record<PropertyKey, unknown>, call: StreamCall): void {
  const next = obj.next as Method;
  const ret = obj.return;
  const thr = obj.throw;
  define(obj, 'next', function (this: unknown, value?: unknown): unknown {
    call.begin();
    let p: unknown;
    try {
      p = arguments.length === 0 ? next.call(this) : next.call(this, value);
    } catch (e) {
      call.fail(e);
      throw e;
    }
    return call.watch(p);
  });
  if (typeof ret === 'function') {
    define(obj, 'return', function (this: unknown, ...args: unknown[]): unknown {
      call.stop();
      return (ret as Method).apply(this, args);
    });
  }
  if (typeof thr === 'function') {
    define(obj, 'throw', function (this: unknown, ...args: unknown[]): unknown {
      call.stop();
      return (thr as Method).apply(this, args);
    });
  }
}

/**
 * An iterable that hands out iterators: the method that makes them is shadowed. SDK streams
 * generated by Stainless (OpenAI's, Anthropic's) keep that factory in an own `iterator` field
 * that `[Symbol.asyncIterator]()` and `tee()` both call: shadowing it observes both paths.
 */
function patchIterable(obj: Record<PropertyKey, unknown>, call: StreamCall): void {
  const key: PropertyKey = Object.hasOwn(obj, 'iterator') && typeof obj.iterator === 'function' ? 'iterator' : Symbol.asyncIterator;
  const make = obj[key] as Method;
  define(obj, key, function (this: unknown, ...args: unknown[]): unknown {
    const it = make.apply(this, args);
    if (!call.begin() || typeof it !== 'object' || it === null) return it;
    const observed = new ObservedIterator(it as AsyncIterator<unknown>, call);
    call.follow(observed);
    return observed;
  });
}

type WebStream = ReadableStream<unknown> & Record<PropertyKey, unknown>;

/**
 * A web `ReadableStream`: on its first read, it is read through a second stream (pull-based,
 * high-water mark 0, so nothing is read ahead) that observes each chunk, and every reading
 * method of the instance goes to that stream: `getReader`, `pipeTo`, `pipeThrough`, `tee`,
 * `values`, async iteration; `cancel` and `locked` follow it. A BYOB reader reads the source
 * directly, unobserved.
 */
function patchWeb(obj: WebStream, call: StreamCall): void {
  const getReader = obj.getReader as (this: unknown, options?: unknown) => ReadableStreamDefaultReader<unknown>;
  const cancel = obj.cancel as Method;
  const proto = Object.getPrototypeOf(obj) as object;
  let observed: ReadableStream<unknown> | undefined;
  const view = (): ReadableStream<unknown> => {
    if (observed !== undefined) return observed;
    call.begin();
    const reader = getReader.call(obj);
    observed = new ReadableStream<unknown>(
      {
        pull: (controller) =>
          reader.read().then(
            (r) => {
              if (r.done) {
                call.complete();
                controller.close();
              } else {
                call.chunk(r.value);
                controller.enqueue(r.value);
              }
            },
            (e: unknown) => {
              call.fail(e);
              controller.error(e);
            },
          ),
        cancel: (reason) => {
          call.stop();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    call.follow(observed);
    return observed;
  };
  define(obj, 'getReader', function (this: unknown, options?: { mode?: unknown }): unknown {
    if (observed === undefined && typeof options === 'object' && options !== null && options.mode === 'byob') {
      call.detach();
      return getReader.call(obj, options);
    }
    return view().getReader(options as undefined);
  });
  type Stream = ReadableStream<unknown>;
  define(obj, 'pipeTo', (...args: Parameters<Stream['pipeTo']>) => view().pipeTo(...args));
  define(obj, 'pipeThrough', (...args: Parameters<Stream['pipeThrough']>) => view().pipeThrough(...args));
  define(obj, 'tee', () => view().tee());
  const iterate = (options?: unknown): unknown => {
    const v = view() as unknown as { values(o?: unknown): unknown; [Symbol.asyncIterator](o?: unknown): unknown };
    return typeof v.values === 'function' ? v.values(options) : v[Symbol.asyncIterator](options);
  };
  if (typeof obj.values === 'function') define(obj, 'values', iterate);
  if (typeof obj[Symbol.asyncIterator] === 'function') define(obj, Symbol.asyncIterator, iterate);
  define(obj, 'cancel', function (this: unknown, reason?: unknown): unknown {
    if (observed !== undefined) return observed.cancel(reason);
    call.stop();
    return cancel.call(obj, reason);
  });
  Object.defineProperty(obj, 'locked', {
    get: () => (observed === undefined ? Reflect.get(proto, 'locked', obj) : observed.locked),
    configurable: true,
    enumerable: false,
  });
}

type StreamShape = 'web' | 'iterator' | 'iterable';

/** What kind of stream `r` is, if any. Property reads are guarded: a hostile object is no stream. */
function shapeOf(r: object): StreamShape | undefined {
  const o = r as Record<PropertyKey, unknown>;
  if (typeof o.getReader === 'function' && typeof o.pipeTo === 'function' && typeof o.cancel === 'function') return 'web';
  if (typeof o[Symbol.asyncIterator] !== 'function') return undefined;
  return typeof o.next === 'function' ? 'iterator' : 'iterable';
}

/**
 * Takes over the ending of a call whose result is a stream: returns true when it did (the
 * stream then ends the call), false when `result` is no stream or cannot be observed (a
 * frozen object), in which case the call ends now as before.
 */
export function observeStream(
  owner: StreamOwner,
  binding: StreamBinding,
  t0: number,
  result: object,
  span: CallSpan | undefined,
): boolean {
  let shape: StreamShape | undefined;
  try {
    shape = shapeOf(result);
    if (shape === undefined || !Object.isExtensible(result)) return false;
  } catch (e) {
    owner.internalError('stream', e);
    return false;
  }
  const call = new StreamCall(owner, binding, t0, span, owner.readClock());
  try {
    const obj = result as Record<PropertyKey, unknown>;
    if (shape === 'web') patchWeb(obj as WebStream, call);
    else if (shape === 'iterator') patchIterator(obj, call);
    else patchIterable(obj, call);
  } catch (e) {
    // A proxy or exotic object refused a property: the call ends now, and what was installed stays inert.
    call.disown();
    owner.internalError('stream', e);
    return false;
  }
  registry.register(result, call, call);
  return true;
}
