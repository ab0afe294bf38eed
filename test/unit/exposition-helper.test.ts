import { describe, expect, it } from 'vitest';
import {
  ExpositionError, expositionProblems, findSamples, getHistogram, getValue, labelValues, parseExposition, sumValues,
} from '../helpers/exposition.js';

// The helper is the oracle of many tests, so it gets its own: it must accept valid input
// and reject each kind of malformed input.

const TEXT = [
  '# HELP req_total Requests, with a \\\\ and a \\n in help.',
  '# TYPE req_total counter',
  'req_total{path="/a\\"b\\\\c\\nd",code="200"} 3',
  'req_total{path="/x",code="500"} 1 1700000000000',
  '# A free-form comment',
  '# TYPE lat_seconds histogram',
  'lat_seconds_bucket{le="0.1"} 1',
  'lat_seconds_bucket{le="1"} 3',
  'lat_seconds_bucket{le="+Inf"} 4',
  'lat_seconds_sum 2.5',
  'lat_seconds_count 4',
  'untyped_thing -Inf',
  '',
].join('\n');

const OM = [
  '# TYPE req counter',
  '# HELP req Requests \\"quoted\\".',
  'req_total{code="200"} 3 # {trace_id="abc"} 1 1700000000.5',
  '# TYPE lat_seconds histogram',
  '# UNIT lat_seconds seconds',
  'lat_seconds_bucket{le="0.1"} 1 # {trace_id="t1"} 0.05',
  'lat_seconds_bucket{le="+Inf"} 2',
  'lat_seconds_sum 1.05',
  'lat_seconds_count 2',
  '# TYPE g gauge',
  'g NaN',
  '# EOF',
  '',
].join('\n');

describe('parseExposition (text 0.0.4)', () => {
  it('parses samples, unescapes label values and help, and groups families', () => {
    const exp = parseExposition(TEXT, 'prometheus');
    expect(getValue(exp, 'req_total', { path: '/a"b\\c\nd', code: '200' })).toBe(3);
    expect(findSamples(exp, 'req_total', { code: '500' })[0]?.timestamp).toBe(1700000000000);
    expect(exp.families.get('req_total')?.help).toBe('Requests, with a \\ and a \n in help.');
    expect(exp.families.get('req_total')?.type).toBe('counter');
    expect(exp.families.get('lat_seconds')?.samples).toHaveLength(5);
    expect(exp.families.get('untyped_thing')?.type).toBe('untyped');
    expect(getValue(exp, 'untyped_thing')).toBe(-Infinity);
    expect(sumValues(exp, 'req_total')).toBe(4);
    expect(labelValues(exp, 'req_total', 'code')).toEqual(new Set(['200', '500']));
    expect(getHistogram(exp, 'lat_seconds')).toEqual({
      buckets: [{ le: 0.1, count: 1 }, { le: 1, count: 3 }, { le: Infinity, count: 4 }],
      sum: 2.5,
      count: 4,
    });
  });

  it('getValue matches the exact label set and says what exists when it does not', () => {
    const exp = parseExposition(TEXT, 'prometheus');
    expect(() => getValue(exp, 'req_total', { code: '200' })).toThrow(/no sample req_total\{code="200"\}; have req_total/);
  });

  it.each([
    ['unescaped quote in a label value', 'x{a="b"c"} 1\n', /expected "," or "}"/],
    ['invalid escape', 'x{a="\\t"} 1\n', /invalid escape/],
    ['unterminated label value', 'x{a="b} 1\n', /unterminated/],
    ['bad label name', 'x{1a="b"} 1\n', /label name/],
    ['duplicate label', 'x{a="1",a="2"} 1\n', /duplicate label a/],
    ['missing value', 'x{a="1"}\n', /expected a space|value/],
    ['bad value', 'x 1.2.3\n', /invalid value/],
    ['junk after timestamp', 'x 1 2 3\n', /expected "value \[timestamp\]"/],
    ['non-integer timestamp', 'x 1 1.5\n', /invalid timestamp/],
    ['no final newline', 'x 1', /newline/],
    ['raw carriage return', 'x{a="b\rc"} 1\n', /control character/],
    ['NUL', 'x{a="b\u0000"} 1\n', /control character/],
    ['lone surrogate', 'x{a="\ud800"} 1\n', /surrogate/],
    ['exemplar in text', 'x_bucket{le="+Inf"} 1 # {a="b"} 1\n', /OpenMetrics only/],
    ['# EOF in text', 'x 1\n# EOF\n', /EOF/],
    ['# UNIT in text', '# UNIT x_seconds seconds\nx_seconds 1\n', /OpenMetrics only/],
    ['duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n', /duplicate series/],
    ['split family', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="y"} 2\n', /split/],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n', /after its samples/],
    ['duplicate TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n', /duplicate TYPE/],
    ['unknown type', '# TYPE a wat\na 1\n', /unknown type/],
    ['negative counter', '# TYPE a_total counter\na_total -1\n', /counter value/],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['+Inf != _count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /!= _count/],
    ['missing +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /\+Inf/],
    ['le out of order', '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not greater/],
    ['missing _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', /missing h_sum/],
    ['bucket without le', '# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n', /without a numeric le/],
  ])('rejects %s', (_what, text, problem) => {
    const problems = expositionProblems(text, 'prometheus');
    expect(problems.join('\n')).toMatch(problem);
    expect(() => parseExposition(text, 'prometheus')).toThrow(ExpositionError);
  });
});

describe('parseExposition (OpenMetrics 1.0)', () => {
  it('parses counters sampled as _total, units, exemplars and NaN', () => {
    const exp = parseExposition(OM, 'openmetrics');
    expect(exp.families.get('req')?.type).toBe('counter');
    expect(exp.families.get('req')?.help).toBe('Requests "quoted".');
    expect(exp.families.get('lat_seconds')?.unit).toBe('seconds');
    const req = findSamples(exp, 'req_total')[0];
    expect(req?.family).toBe('req');
    expect(req?.exemplar).toEqual({ labels: { trace_id: 'abc' }, value: 1, timestamp: 1700000000.5 });
    expect(getHistogram(exp, 'lat_seconds').buckets[0]?.exemplar).toEqual({ labels: { trace_id: 't1' }, value: 0.05 });
    expect(getValue(exp, 'g')).toBeNaN();
  });

  it.each([
    ['missing # EOF', 'x 1\n', /# EOF/],
    ['content after # EOF', 'x 1\n# EOF\ny 1\n', /after "# EOF"/],
    ['blank line', '# TYPE x gauge\n\nx 1\n# EOF\n', /blank lines/],
    ['free-form comment', '# hello\nx 1\n# EOF\n', /comment not allowed/],
    ['counter family named _total', '# TYPE x_total counter\nx_total_total 1\n# EOF\n', /without _total/],
    ['UNIT not matching the name', '# TYPE x gauge\n# UNIT x seconds\nx 1\n# EOF\n', /does not end in _seconds/],
    ['trailing comma', 'x{a="b",} 1\n# EOF\n', /trailing comma/],
    ['two spaces', 'x  1\n# EOF\n', /expected "value \[timestamp\]"/],
    ['tab', 'x\t1\n# EOF\n', /control character/],
    ['exemplar on a gauge', '# TYPE g gauge\ng 1 # {a="b"} 1\n# EOF\n', /exemplars only/],
    ['exemplar above its bucket', '# TYPE h histogram\nh_bucket{le="1"} 1 # {a="b"} 2\nh_bucket{le="+Inf"} 1\nh_sum 2\nh_count 1\n# EOF\n', /above le/],
    ['exemplar labels over 128 chars', `# TYPE c counter\nc_total 1 # {a="${'x'.repeat(128)}"} 1\n# EOF\n`, /128/],
    ['malformed exemplar', '# TYPE c counter\nc_total 1 # {a="b"}\n# EOF\n', /malformed exemplar/],
  ])('rejects %s', (_what, text, problem) => {
    expect(expositionProblems(text, 'openmetrics').join('\n')).toMatch(problem);
  });

  it('accepts # EOF without a final newline', () => {
    expect(expositionProblems('x 1\n# EOF', 'openmetrics')).toEqual([]);
  });
});
