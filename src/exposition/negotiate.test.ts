import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { negotiateFormat } from './negotiate.js';

// What Prometheus 2.5x/3.x sends when scraping (scrape_protocols default, OpenMetrics first).
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('negotiateFormat', () => {
  it.each<[string, string | string[] | undefined, 'prometheus' | 'openmetrics']>([
    ["Prometheus's real Accept header", PROMETHEUS_ACCEPT, 'openmetrics'],
    ['no header (curl, old scrapers)', undefined, 'prometheus'],
    ['an empty header', '', 'prometheus'],
    ['plain text', 'text/plain', 'prometheus'],
    ['text 0.0.4 with parameters', 'text/plain; version=0.0.4; charset=utf-8', 'prometheus'],
    ['a browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'prometheus'],
    ['*/* only', '*/*', 'prometheus'],
    ['OpenMetrics alone', 'application/openmetrics-text', 'openmetrics'],
    ['OpenMetrics in odd case and spacing', '  Application/OpenMetrics-Text ; Version=1.0.0 ', 'openmetrics'],
    ['text preferred by q', 'application/openmetrics-text;q=0.3,text/plain;q=0.5', 'prometheus'],
    ['OpenMetrics preferred by q', 'text/plain;q=0.2, application/openmetrics-text;q=0.9', 'openmetrics'],
    ['a tie goes to OpenMetrics', 'text/plain;q=0.5,application/openmetrics-text;q=0.5', 'openmetrics'],
    ['OpenMetrics refused with q=0', 'application/openmetrics-text;q=0', 'prometheus'],
    ['a garbage q counts as 0', 'application/openmetrics-text;q=lots', 'prometheus'],
    ['q without a value', 'application/openmetrics-text;q', 'prometheus'],
    ['the best of repeated entries counts', 'application/openmetrics-text;q=0.1,text/plain;q=0.5,application/openmetrics-text;q=0.9', 'openmetrics'],
    ['garbage', ';;;,,,==;q=;', 'prometheus'],
    ['an array of headers', ['text/plain;q=0.1', 'application/openmetrics-text'], 'openmetrics'],
    ['an over-long header', `application/openmetrics-text,${'x'.repeat(5000)}`, 'prometheus'],
  ])('%s', (_what, accept, want) => {
    expect(negotiateFormat(accept)).toBe(want);
  });

  it('never throws and always answers one of the two formats', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('application/openmetrics-text', 'text/plain', ';', ',', 'q=', '0.5', '1', ' ', '=') })), (h) => {
        expect(['prometheus', 'openmetrics']).toContain(negotiateFormat(h));
      }),
    );
  });
});
