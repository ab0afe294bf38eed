/**
 * What a family writes its samples into. The family owns the walk over its series (label
 * pairs, cumulative bucket counts, the count as the `+Inf` bucket); a sink owns the format
 * (text 0.0.4 or OpenMetrics lines for exposition, prom-client objects for
 * `registry.metrics()`), so both read the same numbers through one writer.
 */
import type { Exemplar } from './store.js';

/** Metric types a sink is told about (`unknown` for foreign metrics of another type). */
export type SampleFamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'unknown';

export interface SampleSink {
  /**
   * Starts a family. `name` as registered (our counters end in `_total`); the sink derives
   * the family name its format wants (OpenMetrics strips `_total`).
   */
  family(name: string, type: SampleFamilyType, help: string, unit: string): void;
  /**
   * One sample. `name` is the sample's name (`x_bucket`, `x_sum`, `x_total`…); `pairs` the
   * series' labels escaped for exposition without braces (`a="x",b="y"`, `''` for none); `le`
   * an extra last label (a histogram bucket's formatted bound); `exemplar` the sample's
   * exemplar, which a sink drops when its format has none.
   */
  sample(name: string, pairs: string, le: string | undefined, value: number, exemplar: Exemplar | undefined): void;
  /**
   * True when the writer must call {@link SampleSink.resume} before the next series: the
   * destination is full, the time slice is used up, or the scrape was abandoned. Read once
   * per series, so a field, not a computation.
   */
  readonly blocked: boolean;
  /** Resolves when writing may go on; rejects when the scrape was abandoned (stop writing). */
  resume(): Promise<void>;
}
