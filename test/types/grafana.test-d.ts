/**
 * The generator's hand-written Grafana types (src/generate/grafana/types.ts) against
 * Grafana's own published dashboard types (`@grafana/schema`, dev only): a generated
 * dashboard, its panels, rows and variables must be assignable to Grafana's.
 */
import type { Dashboard as GrafanaDashboard, Panel as GrafanaPanel, RowPanel as GrafanaRowPanel, VariableModel } from '@grafana/schema';
import { describe, expectTypeOf, it } from 'vitest';
import type { Dashboard, Panel, RowPanel, Variable } from '../../src/generate/index.js';

/** Grafana's types are mutable; ours are readonly. Compare shapes, not mutability. */
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
/**
 * Grafana's string enums (`FieldColorModeId`…) are nominal in TypeScript: no JSON string is
 * assignable to them. Compare with their values instead (`'thresholds' | 'palette-classic' | …`).
 */
type Literal<T> = T extends string ? `${T}` : T extends (infer U)[] ? Literal<U>[] : T extends object ? { [K in keyof T]: Literal<T[K]> } : T;

// Plain assignments: tsc names the field that does not fit.
const asDashboard = (d: Mutable<Dashboard>): Literal<GrafanaDashboard> => d;
const asPanel = (p: Mutable<Panel>): Literal<GrafanaPanel> => p;
const asRow = (r: Mutable<RowPanel>): Literal<GrafanaRowPanel> => r;
const asVariable = (v: Mutable<Variable>): Literal<VariableModel> => v;

describe('generated dashboards against @grafana/schema', () => {
  it('a dashboard, its panels, rows and variables are Grafana ones', () => {
    expectTypeOf(asDashboard).returns.toEqualTypeOf<Literal<GrafanaDashboard>>();
    expectTypeOf(asPanel).returns.toEqualTypeOf<Literal<GrafanaPanel>>();
    expectTypeOf(asRow).returns.toEqualTypeOf<Literal<GrafanaRowPanel>>();
    expectTypeOf(asVariable).returns.toEqualTypeOf<Literal<VariableModel>>();
  });
});
