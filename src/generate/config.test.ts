import { describe, expect, it } from 'vitest';
import { isConfigError, type ConfigError } from '../errors.js';
import { runbookUrl } from './config.js';
import { GENERATE_DEFAULTS, resolveGenerateConfig } from './index.js';
import { parseSelector } from './selector.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (isConfigError(e)) return e as ConfigError;
    throw e;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('resolveGenerateConfig', () => {
  it('applies every default to an empty config', () => {
    const c = resolveGenerateConfig({});
    expect(c.selector).toEqual([]);
    expect(c.rateInterval).toBe('5m');
    expect(c.service).toBe('agent');
    expect(c.slos).toEqual([]);
    expect(c.thresholds).toEqual(GENERATE_DEFAULTS.thresholds);
    expect(c.for).toEqual(GENERATE_DEFAULTS.for);
    expect(c.dashboardTags).toEqual(['agent-observability']);
    expect(c.burnRateWindows.map((w) => w.burnFactor)).toEqual([14.4, 6, 3, 1]);
    expect(resolveGenerateConfig(undefined)).toEqual(c);
  });

  it('keeps what is given, canonicalising durations', () => {
    const c = resolveGenerateConfig({
      selector: ' job="support-agent", namespace=~"prod|staging" ',
      rateInterval: '120s',
      thresholds: { toolErrorRatio: 0.2 },
      for: { latency: '90s' },
      groupBy: ['cluster'],
    });
    expect(c.selectorText).toBe('job="support-agent", namespace=~"prod|staging"');
    expect(c.selector).toEqual([
      { label: 'job', op: '=', value: 'support-agent' },
      { label: 'namespace', op: '=~', value: 'prod|staging' },
    ]);
    expect(c.rateInterval).toBe('2m');
    expect(c.thresholds.toolErrorRatio).toBe(0.2);
    expect(c.thresholds.llmErrorRatio).toBe(0.1);
    expect(c.for.latency).toBe('1m30s');
    expect(c.groupBy).toEqual(['cluster']);
  });

  it('fills the runbook pattern with the lower-cased alert name', () => {
    expect(runbookUrl(resolveGenerateConfig({}), 'AgentPoolSaturated')).toBe('docs/runbooks.md#agentpoolsaturated');
    expect(runbookUrl(resolveGenerateConfig({ runbookUrl: 'https://x.invalid/rb/{alert}.md' }), 'SloLatencyHigh')).toBe('https://x.invalid/rb/slolatencyhigh.md');
  });

  const cases: { what: string; config: unknown; path: string; message: RegExp }[] = [
    { what: 'not an object', config: 'job="x"', path: 'config', message: /expected an object/ },
    { what: 'unknown key', config: { selecter: 'job="x"' }, path: 'config.selecter', message: /no such key/ },
    { what: 'bad selector', config: { selector: 'job=x' }, path: 'selector', message: /PromQL label matchers.*cannot parse from: job=x/ },
    { what: '__name__ in the selector', config: { selector: '__name__="up"' }, path: 'selector[0].label', message: /reserved/ },
    { what: 'bad rate interval', config: { rateInterval: '5 minutes' }, path: 'rateInterval', message: /Prometheus duration/ },
    { what: 'ratio as a percentage', config: { thresholds: { toolErrorRatio: 10 } }, path: 'thresholds.toolErrorRatio', message: /in \(0, 1\].*got 10/ },
    { what: 'unknown threshold', config: { thresholds: { toolErrors: 0.1 } }, path: 'thresholds.toolErrors', message: /no such key/ },
    { what: 'negative latency', config: { thresholds: { llmLatencySeconds: -1 } }, path: 'thresholds.llmLatencySeconds', message: /> 0/ },
    { what: 'bad for', config: { for: { breakerOpen: 'soon' } }, path: 'for.breakerOpen', message: /Prometheus duration/ },
    { what: 'runbook without placeholder', config: { runbookUrl: 'https://x.invalid/rb' }, path: 'runbookUrl', message: /\{alert\}/ },
    { what: 'groupBy job', config: { groupBy: ['job'] }, path: 'groupBy[0]', message: /other than job/ },
    { what: 'bad label in groupBy', config: { groupBy: ['clus-ter'] }, path: 'groupBy[0]', message: /label/ },
    { what: 'empty tags', config: { dashboardTags: [] }, path: 'dashboardTags', message: /at least one tag/ },
    { what: 'long uid prefix', config: { dashboardUidPrefix: 'x'.repeat(30) }, path: 'dashboardUidPrefix', message: /at most 20/ },
    { what: 'bad time', config: { dashboardTimeFrom: 'yesterday' }, path: 'dashboardTimeFrom', message: /now-1h/ },
    { what: 'burn windows reversed', config: { burnRateWindows: [{ severity: 'critical', burnFactor: 2, longWindow: '5m', shortWindow: '1h' }] }, path: 'burnRateWindows[0].shortWindow', message: /shorter than longWindow/ },
    { what: 'burn factor missing', config: { burnRateWindows: [{ severity: 'critical', longWindow: '1h', shortWindow: '5m' }] }, path: 'burnRateWindows[0].burnFactor', message: /> 0/ },
    { what: 'bad severity', config: { burnRateWindows: [{ severity: 'page', burnFactor: 2, longWindow: '1h', shortWindow: '5m' }] }, path: 'burnRateWindows[0].severity', message: /critical, warning or info/ },
    { what: 'a bad SLO, by its index', config: { slos: [{ name: 'a', target: { kind: 'agent' }, objective: 0.99, availability: {} }, { name: 'b', target: { kind: 'agent' }, objective: 99, availability: {} }] }, path: 'slos[1].objective', message: /strictly between 0 and 1/ },
    { what: 'unknown histogram in buckets', config: { buckets: { nope_seconds: [1] } }, path: 'buckets.nope_seconds', message: /catalog histogram/ },
  ];
  for (const c of cases) {
    it(`rejects ${c.what} with a ConfigError at ${c.path}`, () => {
      const e = configError(() => resolveGenerateConfig(c.config));
      expect(e.path).toBe(c.path);
      expect(e.message).toMatch(c.message);
    });
  }
});

describe('parseSelector', () => {
  it('reads PromQL matchers with or without braces, both quote styles and escapes', () => {
    expect(parseSelector('{a="x", b!="y",c=~"z|w"  , d!~\'q\\\'r\'}', 'sel')).toEqual([
      { label: 'a', op: '=', value: 'x' },
      { label: 'b', op: '!=', value: 'y' },
      { label: 'c', op: '=~', value: 'z|w' },
      { label: 'd', op: '!~', value: "q'r" },
    ]);
    expect(parseSelector('', 'sel')).toEqual([]);
    expect(parseSelector('a="say \\"hi\\""', 'sel')).toEqual([{ label: 'a', op: '=', value: 'say "hi"' }]);
  });

  it.each(['a', 'a=', 'a="x" b="y"', '1a="x"', 'a=="x"', 'a="x'])('rejects %j', (s) => {
    expect(configError(() => parseSelector(s, 'sel')).path).toMatch(/^sel/);
  });
});
