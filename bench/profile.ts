/**
 * CPU profile of one case: builds its suite in a fresh process, primes the case, then runs
 * its op in the harness's loop for a few seconds under the V8 CPU profiler (started
 * through `node:inspector`: the profiler `node --cpu-prof` uses, but covering only the
 * measured loop, not start-up), and summarizes the functions with the most self time,
 * with positions mapped back to the TypeScript sources.
 *
 *   node --import tsx bench/profile.ts <suite>/<group>/<case> [seconds] [out.cpuprofile]
 *
 * bench/index.ts does the same for the case behind every missed goal.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './env.js';
import type { AsyncCase, Group, RunConfig, SyncCase } from './harness.js';
import { CALL_SUITES } from './suites.js';

export interface ProfileEntry {
  readonly fn: string;
  readonly where: string;
  readonly selfPct: number;
}
export interface ProfileSummary {
  readonly key: string;
  readonly node: string;
  readonly seconds: number;
  readonly calls: number;
  readonly top: readonly ProfileEntry[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/** `file:line` of a frame, in the original TypeScript when a source map knows it; packages by name. */
function where(cf: CallFrame): string {
  if (cf.url === '') return '';
  let line = cf.lineNumber;
  let url = cf.url;
  try {
    const entry = findSourceMap(cf.url)?.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      url = entry.originalSource;
      line = entry.originalLine;
    }
  } catch {
    // no map: generated position
  }
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = p.lastIndexOf('node_modules/');
  if (nm !== -1) p = p.slice(nm + 'node_modules/'.length);
  else if (p.startsWith(ROOT)) p = path.relative(ROOT, p);
  return `${p}:${line + 1}`;
}

/** Self time by function (name + location), as a share of the sampled time, idle excluded. */
function summarize(profile: CpuProfile, limit: number): ProfileEntry[] {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFn = new Map<string, { fn: string; where: string; t: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0 || n.callFrame.functionName === '(idle)') continue;
    total += t;
    const fn = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName;
    const w = where(n.callFrame);
    const key = `${fn}@${w}`;
    byFn.set(key, { fn, where: w, t: (byFn.get(key)?.t ?? 0) + t });
  }
  return [...byFn.values()]
    .sort((a, b) => b.t - a.t)
    .slice(0, limit)
    .map((e) => ({ fn: e.fn, where: e.where, selfPct: (100 * e.t) / total }));
}

/** Profiles `key` (`suite/group/case`) in a fresh process of `node` for about `seconds`. */
export function profileCase(node: string, key: string, seconds: number, quick: boolean, save?: string): ProfileSummary {
  const args = ['--expose-gc', '--enable-source-maps', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', key, String(seconds), quick ? 'quick' : 'full'];
  if (save !== undefined) args.push(save);
  const r = spawnSync(node, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`profile of ${key} exited with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ProfileSummary;
}

/** In the profiled process: build the suite, prime the case, then profile its op in a loop for `seconds`. */
async function child(key: string, seconds: number, quick: boolean, save: string | undefined): Promise<ProfileSummary> {
  const [suiteId, groupId, caseId] = key.split('/');
  const make = CALL_SUITES[suiteId ?? ''];
  if (make === undefined) throw new Error(`unknown suite in ${key}`);
  const cfg: RunConfig = { quick, passes: 1, timeMs: 0, warmupMs: 0, minSamples: 1, batchSync: 1000, batchAsync: 250, primeCalls: 0, filter: undefined };
  const suite = await make(cfg);
  try {
    const group = suite.groups.find((g) => g.id === groupId) as Group | undefined;
    const c = group?.cases.find((x) => x.id === caseId);
    if (group === undefined || c === undefined) throw new Error(`no case ${key}`);
    let calls = 0;
    let acc = 0;
    const loop = async (ms: number): Promise<void> => {
      const end = performance.now() + ms;
      if (group.mode === 'async') {
        const op = (c as AsyncCase).op;
        while (performance.now() < end) for (let i = 0; i < 1000; i++, calls++) acc += await op(i);
      } else {
        const op = (c as SyncCase).op;
        while (performance.now() < end) for (let i = 0; i < 1000; i++, calls++) acc += op(i);
      }
    };
    await loop(quick ? 50 : 1000);
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    calls = 0;
    await loop(seconds * 1000);
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    if (save !== undefined) writeFileSync(save, JSON.stringify(profile));
    if (acc === 0.5) process.stderr.write('unreachable\n');
    return { key, node: process.version, seconds, calls, top: summarize(profile, Number(process.env.BENCH_PROFILE_TOP ?? 15)) };
  } finally {
    await suite.dispose?.();
  }
}

export function renderProfile(p: ProfileSummary): string {
  return p.top.map((e) => `${e.selfPct.toFixed(1).padStart(5)} %  ${e.fn}  ${e.where}`).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    child(args[1] as string, Number(args[2]), args[3] === 'quick', args[4]).then(
      (p) => process.stdout.write(`${JSON.stringify(p)}\n`),
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  } else {
    const [key, seconds, save] = args;
    if (key === undefined) throw new Error('usage: bench/profile.ts <suite>/<group>/<case> [seconds] [out.cpuprofile]');
    const p = profileCase(process.execPath, key, Number(seconds ?? 4), false, save === undefined ? undefined : path.resolve(save));
    process.stdout.write(`${p.key} on ${p.node}: ${p.calls.toLocaleString('en-US')} calls in ${p.seconds} s; self time:\n${renderProfile(p)}\n`);
  }
}
