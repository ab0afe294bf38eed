import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from './generate.js';

const dir = mkdtempSync(path.join(tmpdir(), 'agentobs-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { cwd: dir, out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const SLO = { name: 'avail', target: { kind: 'agent', name: 'support-agent' }, objective: 0.99, availability: {} };
writeFileSync(path.join(dir, 'obs.config.json'), JSON.stringify({ service: 'svc', selector: 'job="svc"', slos: [SLO] }));
writeFileSync(path.join(dir, 'obs.config.yaml'), 'service: svc\nselector: job="svc"\nslos:\n  - name: avail\n    target: { kind: agent, name: support-agent }\n    objective: 0.99\n    availability: {}\n');
writeFileSync(
  path.join(dir, 'obs.config.ts'),
  `const slos: { name: string }[] = [${JSON.stringify(SLO)}];\nexport default { service: 'svc', selector: 'job="svc"', slos };\n`,
);

describe('agent-observability generate', () => {
  it('writes the dashboards and rule files, with progress and a summary', async () => {
    const r = await run('generate', '--config', 'obs.config.json', '--out', 'out');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('config obs.config.json, 1 SLO, out out');
    expect(r.out).toContain('created    dashboards/agent-overview.json');
    expect(r.out).toContain('created    alerts/alerts.rules.yaml');
    expect(r.out).toMatch(/generate: 8 files: 6 dashboards, 2 rule files \(\d+ alerting rules for 15 alerts, \d+ recording rules\); 8 written, 0 unchanged/);
    expect(readFileSync(path.join(dir, 'out/alerts/alerts.rules.yaml'), 'utf8')).toContain('job="svc"');
  });

  it('--check passes on fresh output, and YAML and TypeScript configs give the same files', async () => {
    for (const config of ['obs.config.json', 'obs.config.yaml', 'obs.config.ts']) {
      const r = await run('generate', '-c', config, '-o', 'out', '--check');
      expect(r.code, `${config}: ${r.err}`).toBe(0);
      expect(r.out).toContain('generate --check: all 8 files');
    }
  });

  it('--check exits 1 on drift, naming the file and the first differing line, and writes nothing', async () => {
    const file = path.join(dir, 'out/alerts/alerts.rules.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('severity: warning', 'severity: info'));
    rmSync(path.join(dir, 'out/dashboards/slos.json'));
    const r = await run('generate', '--config', 'obs.config.json', '--out', 'out', '--check');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DIFFERS {4}alerts\/alerts.rules.yaml \(from line \d+\)/);
    expect(r.out).toContain('MISSING    dashboards/slos.json');
    expect(r.err).toContain('2 of 8 files');
    expect(readFileSync(file, 'utf8')).not.toBe(good);
    const fixed = await run('generate', '--config', 'obs.config.json', '--out', 'out', '-q');
    expect(fixed.out).toMatch(/; 2 written, 6 unchanged$/);
    expect(readFileSync(file, 'utf8')).toBe(good);
  });

  it('reports a bad config with the path of the mistake, exit 2', async () => {
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ thresholds: { toolErrorRatio: 5 } }));
    const r = await run('generate', '--config', 'bad.json', '--out', 'out');
    expect(r.code).toBe(2);
    expect(r.err).toBe('agent-observability: invalid config bad.json: thresholds.toolErrorRatio: expected a number in (0, 1] (0.1 = 10 %), got 5');
    writeFileSync(path.join(dir, 'bad-slo.yaml'), 'slos:\n  - name: x\n    target: { kind: robot }\n    objective: 0.9\n    availability: {}\n');
    const s = await run('generate', '--config', 'bad-slo.yaml', '--out', 'out');
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/invalid config bad-slo.yaml: slos\[0\]\.target\.kind: expected one of agent, workflow, step, tool, llm, got "robot"/);
  });

  it.each([
    [['generate', '--out', 'out', '--config', 'missing.json'], /cannot read config/],
    [['generate', '--out', 'out', '--config', 'obs.config.toml'], /unsupported config file type "\.toml"/],
    [['generate', '--config', 'obs.config.json'], /--out <dir> is required/],
    [['generate', '--out', 'out', '--frobnicate'], /Unknown option/],
    [['deploy'], /unknown command "deploy"/],
  ])('usage errors exit 2: %j', async (argv, message) => {
    writeFileSync(path.join(dir, 'obs.config.toml'), '');
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a broken JSON config names the file', async () => {
    writeFileSync(path.join(dir, 'broken.json'), '{ "selector": ');
    const r = await run('generate', '--config', 'broken.json', '--out', 'out');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken.json is not valid JSON/);
  });

  it('--help and --version', async () => {
    expect((await run('--help')).out).toContain('Usage: agent-observability generate --config <file> --out <dir> [--check]');
    expect((await run('generate', '--help')).code).toBe(0);
    expect((await run('--version')).out).toMatch(/^\d+\.\d+\.\d+/);
    expect((await run()).code).toBe(2);
  });
});
