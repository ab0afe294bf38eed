import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FIXTURE_HEADER, FIXTURE_OPTIONS } from '../../test/rules/fixture.js';
import { promtoolSuite } from '../../test/rules/scenarios.js';
import { generateSloRules } from './index.js';

const RULES_DIR = fileURLToPath(new URL('../../test/rules/', import.meta.url));
const RULE_FILES = ['slo-recording.rules.yaml', 'slo-alerts.rules.yaml'];
const SUITE = 'slo-rules.test.yaml';

const hasPromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasPromtool) {
  console.warn('promtool not found: skipping the promtool checks (CI installs it: apt-get install -y --no-install-recommends prometheus)');
}

// promtool runs on what the generator writes now (in a temp dir); the snapshot test keeps
// the committed copies in test/rules equal to it, for `promtool test rules` in CI scripts.
const { recording, alerts } = generateSloRules({ ...FIXTURE_OPTIONS, header: FIXTURE_HEADER });
const suite = `${FIXTURE_HEADER.split('\n').map((l) => `# ${l}\n`).join('')}${stringify(promtoolSuite(RULE_FILES), { lineWidth: 0 })}`;
const work = mkdtempSync(path.join(tmpdir(), 'agentobs-rules-'));
writeFileSync(path.join(work, RULE_FILES[0]!), recording);
writeFileSync(path.join(work, RULE_FILES[1]!), alerts);
writeFileSync(path.join(work, SUITE), suite);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: work, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('SLO rules under promtool (test/rules)', () => {
  it('the committed rule files and promtool suite match what the generator writes', async () => {
    await expect(recording).toMatchFileSnapshot(`${RULES_DIR}${RULE_FILES[0]}`);
    await expect(alerts).toMatchFileSnapshot(`${RULES_DIR}${RULE_FILES[1]}`);
    await expect(suite).toMatchFileSnapshot(`${RULES_DIR}${SUITE}`);
  });

  it.skipIf(!hasPromtool)('promtool check rules accepts the generated files', () => {
    const r = promtool('check', 'rules', ...RULE_FILES);
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });

  it.skipIf(!hasPromtool)(
    'promtool test rules: each alert fires at its burn rate, stays silent below it and under the low-traffic guard, and 3 instances aggregate',
    () => {
      const r = promtool('test', 'rules', SUITE);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
    },
    120_000,
  );
});
