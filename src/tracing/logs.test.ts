import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installTestTracing, type TestTracing } from '../../test/helpers/otel.js';
import { createObservability } from '../index.js';

let tracing: TestTracing | undefined;
afterEach(async () => {
  await tracing?.uninstall();
  tracing = undefined;
});

function memoryLogger(mixin: () => object): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ mixin, base: null, timestamp: false }, stream);
  return { log, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('obs.logFields() and obs.pinoMixin', () => {
  it('are empty outside any context', () => {
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    expect(obs.logFields()).toEqual({});
    expect(obs.traceIds()).toBeUndefined();
  });

  it('put correlation_id, trace_id and span_id on every pino line, per async context', async () => {
    tracing = installTestTracing();
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    const { log, lines } = memoryLogger(obs.pinoMixin);
    const tool = obs.instrumentTool(async (n: number) => {
      await new Promise((r) => setTimeout(r, 5 - n));
      log.info({ n }, 'in tool');
    }, { tool: 't' });
    await Promise.all([1, 2, 3].map((n) => obs.withCorrelation(`c-${n}`, async () => {
      log.info({ n }, 'before');
      await tool(n);
    })));
    log.info('outside');

    const spans = new Map(tracing.spans().map((s) => [s.attributes['agentobs.correlation_id'], s]));
    for (const l of lines()) {
      if (l.msg === 'outside') {
        expect(l).toEqual({ level: 30, msg: 'outside' });
        continue;
      }
      expect(l.correlation_id).toBe(`c-${l.n as number}`);
      if (l.msg === 'in tool') {
        const span = spans.get(`c-${l.n as number}`)!;
        expect([l.trace_id, l.span_id]).toEqual([span.spanContext().traceId, span.spanContext().spanId]);
      } else expect(l.trace_id).toBeUndefined();
    }
    expect(lines()).toHaveLength(7);
  });

  it('traceIds() reports the active span', () => {
    tracing = installTestTracing();
    const obs = createObservability({ runtimeMetrics: false, logger: false });
    trace.getTracer('t').startActiveSpan('s', (s) => {
      expect(obs.traceIds()).toEqual({ traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, sampled: true });
      s.end();
    });
  });
});
