/** The machine and package versions a benchmark ran on, for the report. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Packages whose versions matter to the comparisons (peers and our own dependencies). */
const PACKAGES = [
  'prom-client', 'opossum', '@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-prometheus', 'opossum-prometheus', 'cockatiel', '@autometrics/autometrics',
  '@autometrics/autometrics/node_modules/@opentelemetry/sdk-metrics', 'tinybench', 'tsx',
] as const;

export interface Environment {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine shows here. */
  readonly loadavg: readonly number[];
  readonly platform: string;
  readonly node: string;
  readonly v8: string;
  readonly self: string;
  readonly git: string;
  readonly packages: Readonly<Record<string, string>>;
}

function packageVersion(name: string): string {
  try {
    // Read the file directly: some packages' `exports` do not expose ./package.json.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'not installed';
  }
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? rev : `${rev} (src/ modified)`;
  } catch {
    return 'unknown';
  }
}

export function environment(): Environment {
  const cpus = os.cpus();
  const self = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    self: `${self.name} ${self.version}`,
    git: gitRevision(),
    packages: Object.fromEntries(PACKAGES.map((n) => [n, packageVersion(n)])),
  };
}
