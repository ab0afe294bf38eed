/**
 * Test helper for the property-based fuzz tests (test/unit/fuzz): run settings from the
 * environment, string generators that aim at what breaks expositions and header parsers,
 * and batch checks with the external tools (promtool, Debian's python3-prometheus-client).
 *
 *   FUZZ_SEED=123 FUZZ_RUNS=5000 npx vitest run test/unit/fuzz
 *
 * The seed is fixed by default so a red run reproduces; a failing case prints its seed and
 * path, and `FUZZ_SEED` replays it. `FUZZ_RUNS` replaces each property's default run count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';

export const PROMTOOL = '/usr/bin/promtool';
export const PYTHON = '/usr/bin/python3';

/** The seed of every property: fixed (so CI runs are reproducible) unless FUZZ_SEED is set. */
export const FUZZ_SEED = Number.isSafeInteger(Number(process.env.FUZZ_SEED)) && process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
  ? Number(process.env.FUZZ_SEED)
  : 20_261_204;

/** `numRuns` of a property: its default, or FUZZ_RUNS when set. */
export function fuzzRuns(defaultRuns: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : defaultRuns;
}

/** fast-check parameters for one property. */
export function fuzzParams(defaultRuns: number): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns: fuzzRuns(defaultRuns) };
}

/** Characters that have broken (or could break) an exposition or a header: escapes, controls, separators, surrogates. */
const NASTY = [
  '\\', '"', '\n', '\r', '\t', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f', '\u2028', '\u2029', '\u202e', '\u2066',
  '\ufeff', '\ufffd', '\ud800', '\udfff', '\ud83d\ude00', '{', '}', ',', '=', ' ', '#', '_OTHER', 'le', 'é', '\u00a0', '\\n', '\\"',
];

/** Strings mixing ordinary text with {@link NASTY} pieces, of any length up to `maxLength` pieces. */
export function nastyString(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { maxLength }).map((a) => a.join('')) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '_OTHER', 'a'.repeat(300), '\n'.repeat(200), '\ud800'.repeat(129), `${'x'.repeat(127)}\ud83d\ude00`) },
  );
}

/** What promtool said about one text exposition. */
export interface PromtoolVerdict {
  /** A parse error ("error while linting: …" or a non-lint exit status), or undefined when the body parsed. */
  readonly parseError: string | undefined;
  /** Lint findings (missing HELP, unit suffixes…): style, not validity. */
  readonly lint: readonly string[];
}

/**
 * `promtool check metrics` on each body (text format 0.0.4). Exit 3 with findings is lint
 * only; exit 1 or "error while linting" is a body the Prometheus text parser rejected.
 */
export function promtoolCheckMetrics(bodies: readonly string[]): PromtoolVerdict[] {
  return bodies.map((body) => {
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
    const out = `${r.stdout}${r.stderr}`;
    const lines = out.split('\n').filter((l) => l !== '');
    const error = lines.find((l) => l.includes('error while linting'));
    if (error !== undefined) return { parseError: error, lint: [] };
    if (r.status !== 0 && r.status !== 3) return { parseError: `promtool exit ${String(r.status)}: ${out.slice(0, 500)}`, lint: [] };
    return { parseError: undefined, lint: lines };
  });
}

/** `promtool check rules` on each rule file text; returns the output of every file that failed, by index. */
export function promtoolCheckRules(files: readonly string[]): Map<number, string> {
  const failed = new Map<number, string>();
  if (files.length === 0) return failed;
  const dir = mkdtempSync(path.join(tmpdir(), 'agentobs-fuzz-rules-'));
  try {
    const names = files.map((content, i) => {
      const name = `rules-${i}.yaml`;
      writeFileSync(path.join(dir, name), content);
      return name;
    });
    // One process for all files; on failure, each file alone says which.
    const all = spawnSync(PROMTOOL, ['check', 'rules', ...names], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    if (all.status === 0) return failed;
    names.forEach((name, i) => {
      const r = spawnSync(PROMTOOL, ['check', 'rules', name], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) failed.set(i, `${r.stdout}${r.stderr}`);
    });
    return failed;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PY_PARSE = `
import sys, json
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as text
out = []
for item in json.load(sys.stdin):
    try:
        fams = list((om if item["format"] == "openmetrics" else text)(item["body"]))
        out.append({"ok": True, "samples": sum(len(f.samples) for f in fams)})
    except Exception as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)[:300]})
print(json.dumps(out))
`;

/** One body for {@link pythonParse}. */
export interface PythonInput {
  readonly format: 'prometheus' | 'openmetrics';
  readonly body: string;
}

/**
 * Parses every body in one python3 process: OpenMetrics with the strict
 * `prometheus_client.openmetrics.parser`, text with `prometheus_client.parser`. Returns
 * per body `undefined` (parsed) or the parser's error. Each body first goes through UTF-8 as
 * on the wire (a lone surrogate becomes U+FFFD, as the HTTP handler would send it), so Python
 * reads what a scraper would.
 */
export function pythonParse(inputs: readonly PythonInput[]): (string | undefined)[] {
  if (inputs.length === 0) return [];
  const r = spawnSync(PYTHON, ['-c', PY_PARSE], { input: JSON.stringify(inputs.map((x) => ({ format: x.format, body: Buffer.from(x.body, 'utf8').toString('utf8') }))), encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python3 failed (${String(r.status)}): ${r.stderr.slice(0, 2000)}`);
  const res = JSON.parse(r.stdout) as { ok: boolean; error?: string }[];
  return res.map((x) => (x.ok ? undefined : (x.error ?? 'unknown error')));
}

/** True when both external checkers are installed (CI installs them; see .ci/run). */
export const HAVE_TOOLS = existsSync(PROMTOOL)
  && spawnSync(PYTHON, ['-c', 'import prometheus_client'], { encoding: 'utf8' }).status === 0;
