export { createSla } from './sla.js';
export type { Sla, SlaEngine, HealthHandler, HealthHandlerOptions, SloListener } from './sla.js';
export type {
  SlaReport, SloReport, SloStatus, SloWindowReport, SloBudgetReport, SloLatencyQuantiles,
} from './report.js';
export { bucketQuantile } from './quantile.js';
