import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderRuleFile, yamlString, type RuleGroup } from './rules.js';

/** What a YAML reader should get back from a rendered file. */
function asParsed(groups: readonly RuleGroup[]): unknown {
  return {
    groups: groups.map((g) => ({
      name: g.name,
      ...(g.interval === undefined ? {} : { interval: g.interval }),
      rules: g.rules.map((r) => {
        const out: Record<string, unknown> = 'record' in r ? { record: r.record } : { alert: r.alert };
        out.expr = r.expr.split('\n').map((l) => l.replace(/\s+$/, '')).join('\n').replace(/\n+$/, '');
        if ('alert' in r && r.for !== undefined) out.for = r.for;
        if (r.labels !== undefined && Object.keys(r.labels).length > 0) out.labels = r.labels;
        if ('alert' in r && r.annotations !== undefined && Object.keys(r.annotations).length > 0) out.annotations = r.annotations;
        return out;
      }),
    })),
  };
}

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('yes', 'no', 'on', 'Off', 'null', '~', 'true', '1', '0x1F', '1e3', '5m', '-', '- x', 'a: b', 'a:', '#x', ' lead', 'trail ', "'q'", '"q"', '|', '>', '&a', '*a', '!t', '@', '`', '%', '[', '{', '\u2028', '\u0085', '\ufeff'),
);
const labelKey = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
const dict = fc.dictionary(labelKey, text, { maxKeys: 4 });
const expr = fc.array(fc.stringMatching(/^[a-z(][a-z0-9_ (){}="<>*/+.-]{0,30}$/), { minLength: 1, maxLength: 4 }).map((ls) => ls.join('\n'));
const rule = fc.oneof(
  fc.record({ record: fc.stringMatching(/^[a-z_:][a-z0-9_:]{0,20}$/), expr, labels: dict }),
  fc.record(
    { alert: fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,15}$/), expr, for: fc.constantFrom('5m', '1h'), labels: dict, annotations: dict },
    { requiredKeys: ['alert', 'expr'] },
  ),
);
const groups = fc.array(fc.record({ name: text, rules: fc.array(rule, { maxLength: 4 }) }), { maxLength: 3 });

describe('rule file YAML writer', () => {
  it('round-trips through a YAML 1.2 reader for any names, labels and annotations', () => {
    fc.assert(
      fc.property(groups, (gs) => {
        const groupsIn = gs as RuleGroup[];
        expect(parse(renderRuleFile(groupsIn))).toEqual(asParsed(groupsIn));
      }),
      { numRuns: 500 },
    );
  });

  it('writes plain scalars only where no reader can mistake them', () => {
    expect(yamlString('slo:sli_error:ratio_rate5m')).toBe('slo:sli_error:ratio_rate5m');
    expect(yamlString('critical')).toBe('critical');
    for (const s of ['yes', 'on', 'null', '5m', '14.4', 'a:', 'a b', '', '#c']) expect(yamlString(s)).toBe(JSON.stringify(s));
  });

  it('is deterministic: labels sorted, a header, expressions as literal blocks', () => {
    const out = renderRuleFile(
      [{ name: 'g', rules: [{ alert: 'A', expr: 'up\n/\nx', for: '5m', labels: { z: '1', a: 'b' }, annotations: { summary: 's' } }] }],
      { header: 'Code generated. DO NOT EDIT.' },
    );
    expect(out).toBe(
      [
        '# Code generated. DO NOT EDIT.',
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: A',
        '        expr: |-',
        '          up',
        '          /',
        '          x',
        '        for: "5m"',
        '        labels:',
        '          a: b',
        '          z: "1"',
        '        annotations:',
        '          summary: s',
        '',
      ].join('\n'),
    );
  });
});
