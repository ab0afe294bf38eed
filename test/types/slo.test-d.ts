import { describe, expectTypeOf, it } from 'vitest';
import {
  createObservability, defineSlo, loadSlos, type HealthHandler, type SlaReport, type SloReport, type SloSpec, type SloStatus,
} from 'agent-observability';
import { generateSloRules, promql, type RuleGroup, sloRuleGroups } from 'agent-observability/generate';
import { catalog } from 'agent-observability';

describe('SLO types', () => {
  it('defineSlo keeps the literal spec; specs are checked per SLI and target kind', () => {
    const s = defineSlo({ name: 'a', target: { kind: 'tool', name: 't', agent: 'x' }, objective: 0.99, availability: {} });
    expectTypeOf(s.target.kind).toEqualTypeOf<'tool'>();
    expectTypeOf(loadSlos).returns.toEqualTypeOf<SloSpec[]>();
    // @ts-expect-error: unknown target kinds do not compile
    defineSlo({ name: 'a', target: { kind: 'db' }, objective: 0.9, availability: {} });
    // @ts-expect-error: a latency SLI needs a threshold
    defineSlo({ name: 'a', target: { kind: 'agent' }, objective: 0.9, latency: {} });
    // @ts-expect-error: one SLI only
    defineSlo({ name: 'a', target: { kind: 'agent' }, objective: 0.9, availability: {}, latency: { threshold: 1 } });
  });

  it('obs.sla returns typed reports and unsubscribe functions', () => {
    const obs = createObservability({ slos: [defineSlo({ name: 'a', target: { kind: 'agent' }, latency: { threshold: 0.4, percentile: 0.95 } })] });
    expectTypeOf(obs.sla.check()).toEqualTypeOf<SlaReport>();
    expectTypeOf(obs.sla.check().slos[0]!.status).toEqualTypeOf<SloStatus>();
    expectTypeOf(obs.sla.onBreach).parameter(0).toEqualTypeOf<(report: SloReport) => void>();
    expectTypeOf(obs.sla.onRecover(() => {})).toEqualTypeOf<() => void>();
    expectTypeOf(obs.sla.healthHandler()).toEqualTypeOf<HealthHandler>();
    // @ts-expect-error: failOn is breach or warning
    obs.sla.healthHandler({ failOn: 'ok' });
  });

  it('the generate subpath builds rule groups from the same specs', () => {
    expectTypeOf(sloRuleGroups({ service: 's', slos: [] }).alerts).toEqualTypeOf<readonly RuleGroup[]>();
    expectTypeOf(generateSloRules({ service: 's', slos: [] }).recording).toEqualTypeOf<string>();
    // @ts-expect-error: service is required
    generateSloRules({ slos: [] });
    promql.histogramSeries(catalog.toolDuration, 'bucket', [promql.eq('le', '1'), promql.eq('gen_ai_tool_name', 't')]);
    // @ts-expect-error: label names come from the catalog entry
    promql.histogramSeries(catalog.toolDuration, 'count', [promql.eq('model', 'm')]);
  });
});
