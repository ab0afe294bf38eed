/**
 * The shipped rule files under promtool: `check rules` on each, and `test rules` with a
 * firing and a silent case for every alert (test/rules/shipped-alerts.ts). The suite is
 * also committed as test/rules/shipped-alerts.test.yaml, so `promtool test rules` can run
 * it by hand (regenerate with `npx vitest run test/unit/shipped-rules.test.ts -u`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROOT } from '../helpers/promql.js';
import { shippedAlertSuite } from '../rules/shipped-alerts.js';

const RULE_FILES = ['alerts/recording.rules.yaml', 'alerts/alerts.rules.yaml'];
const HEADER = [
  '# Code generated from test/rules/shipped-alerts.ts. DO NOT EDIT.',
  '# Regenerate: npx vitest run test/unit/shipped-rules.test.ts -u',
  '# Run: promtool test rules test/rules/shipped-alerts.test.yaml',
  '',
].join('\n');

const hasPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasPromtool) console.warn('promtool not found: skipping (CI installs it: apt-get install -y --no-install-recommends prometheus)');

const render = (ruleFiles: readonly string[]): string => `${HEADER}${stringify(shippedAlertSuite(ruleFiles), { lineWidth: 0 })}`;
const work = mkdtempSync(path.join(tmpdir(), 'agentobs-shipped-rules-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('shipped alert rules under promtool', () => {
  it('the committed promtool suite matches test/rules/shipped-alerts.ts', async () => {
    await expect(render(RULE_FILES.map((f) => `../../${f}`))).toMatchFileSnapshot(path.join(ROOT, 'test/rules/shipped-alerts.test.yaml'));
  });

  it.skipIf(!hasPromtool).each(RULE_FILES)('promtool check rules %s', (file) => {
    const r = promtool('check', 'rules', file);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it.skipIf(!hasPromtool)(
    'promtool test rules: every alert fires for the bad entity only and stays silent before the fault',
    () => {
      const suite = path.join(work, 'shipped-alerts.test.yaml');
      writeFileSync(suite, render(RULE_FILES.map((f) => path.join(ROOT, f))));
      const r = promtool('test', 'rules', suite);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
    },
    120_000,
  );
});
