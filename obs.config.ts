/**
 * Generate config of the shipped dashboards/ and alerts/ (`npm run generate`, checked in CI
 * by `npm run generate:check`): the defaults, plus the example service's SLOs, taken from
 * the very module the service evaluates in-process (examples/agent-service/slos.ts), so
 * the shipped rules and the service's `obs.sla` read the same specs.
 *
 * Your own: copy this (or write JSON/YAML with the same keys) and run
 * `npx agent-observability generate --config obs.config.ts --out monitoring/`.
 */
import type { GenerateConfig } from 'agent-observability/generate';
import { serviceSlos } from './examples/agent-service/slos.js';

const config: GenerateConfig = {
  service: 'support-agent',
  slos: serviceSlos(),
  // selector: 'job="support-agent"',  // PromQL matchers added to every series (default: every job)
  // groupBy: ['cluster'],              // target labels kept when aggregating over instances
  // runbookUrl: 'https://github.com/you/your-repo/blob/main/docs/runbooks.md#{alert}',
};

export default config;
