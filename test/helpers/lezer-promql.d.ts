// @prometheus-io/lezer-promql@0.42.0 ships dist/index.d.ts but its `exports` map has no
// `types` condition, so NodeNext resolution cannot find it: declare the one export we use.
declare module '@prometheus-io/lezer-promql' {
  import type { LRParser } from '@lezer/lr';

  export const parser: LRParser;
}
