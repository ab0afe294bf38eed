/**
 * `agent-observability generate --config FILE --out DIR [--check]`: writes (or, with
 * `--check`, compares) the dashboards and rule files for a generate config. Everything
 * here is I/O around the pure `generateArtifacts`; the process entry is `bin.ts`.
 *
 * Runtime dependencies: none beyond this package. Reading a YAML config needs the `yaml`
 * package and a TypeScript config needs `tsx`: both are optional peer dependencies,
 * loaded on demand, so services that install agent-observability for its runtime do not
 * carry a YAML parser or a TypeScript loader they never use. JSON and `.js`/`.mjs`
 * configs need nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isConfigError } from '../errors.js';
import { generateArtifacts, resolveGenerateConfig, type GenerateConfig } from '../generate/index.js';
import { VERSION } from '../version.js';

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  readonly cwd: string;
  out(line: string): void;
  err(line: string): void;
}

export const USAGE = `Usage: agent-observability generate --config <file> --out <dir> [--check]

Writes Grafana dashboards (<dir>/dashboards/*.json) and Prometheus rule files
(<dir>/alerts/*.yaml) generated from a config.

Options:
  -c, --config <file>  obs.config.json | .yaml | .yml | .ts | .mts | .js | .mjs
                       (YAML needs the "yaml" package, TypeScript needs "tsx");
                       without it, the defaults and no SLOs
  -o, --out <dir>      output directory
      --check          write nothing; exit 1 if any file differs from what
                       would be generated (for CI)
  -q, --quiet          print only the summary and errors
  -h, --help           this help
  -v, --version        print the version

Exit codes: 0 ok, 1 files out of date (--check), 2 bad usage or config.`;

/** A problem to report as one line, with exit code 2. */
class UsageError extends Error {}

function isMissingModule(e: unknown, name: string): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(name);
}

async function importOptional<T>(specifier: string, why: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (e) {
    if (isMissingModule(e, specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))) {
      throw new UsageError(`${why}: install it with \`npm install -D ${specifier.split('/')[0]}\`, or write the config as JSON`);
    }
    throw e;
  }
}

/** Loads a config file into a plain value (validated afterwards). */
export async function loadConfigFile(file: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  const read = async (): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read config ${file}: ${(e as Error).message}`);
    }
  };
  switch (ext) {
    case '.json': {
      const textValue = await read();
      try {
        return JSON.parse(textValue) as unknown;
      } catch (e) {
        throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
      }
    }
    case '.yaml':
    case '.yml': {
      const textValue = await read();
      const yaml = await importOptional<{ parse(s: string): unknown }>('yaml', `reading ${file} needs the "yaml" package`);
      try {
        return yaml.parse(textValue);
      } catch (e) {
        throw new UsageError(`${file} is not valid YAML: ${(e as Error).message}`);
      }
    }
    case '.ts':
    case '.mts':
    case '.cts':
    case '.js':
    case '.mjs':
    case '.cjs': {
      await read();
      const url = pathToFileURL(path.resolve(file)).href;
      let mod: Record<string, unknown>;
      if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
        const tsx = await importOptional<{ tsImport(u: string, parent: string): Promise<Record<string, unknown>> }>(
          'tsx/esm/api',
          `loading the TypeScript config ${file} needs "tsx"`,
        );
        mod = await tsx.tsImport(url, import.meta.url);
      } else {
        mod = (await import(url)) as Record<string, unknown>;
      }
      const value = mod.default ?? mod.config;
      if (value === undefined) throw new UsageError(`${file} must export the config as its default export (or as \`config\`)`);
      // A CommonJS module imported from ESM (tsx, .cjs) arrives wrapped once more.
      const inner = (value as { default?: unknown } | null)?.default;
      return typeof value === 'object' && value !== null && inner !== undefined && Object.keys(value).length === 1 ? inner : value;
    }
    default:
      throw new UsageError(`unsupported config file type "${ext || file}" (use .json, .yaml, .yml, .ts, .mts, .js or .mjs)`);
  }
}

/** 1-based number of the first line where `a` and `b` differ. */
function firstDifference(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return i + 1;
  return 0;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function generate(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string', short: 'o' },
      check: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.out === undefined || values.out === '') throw new UsageError('--out <dir> is required');
  const outDir = path.resolve(io.cwd, values.out);
  const configFile = values.config === undefined ? undefined : path.resolve(io.cwd, values.config);
  const shown = (f: string): string => path.relative(io.cwd, f) || '.';
  const log = (line: string): void => {
    if (values.quiet !== true) io.out(line);
  };

  const raw = configFile === undefined ? {} : await loadConfigFile(configFile);
  let config;
  let artifacts;
  try {
    config = resolveGenerateConfig(raw as GenerateConfig);
    // A ConfigError from the generator is a bad config too (exit 2), not an unexpected error.
    artifacts = generateArtifacts(config);
  } catch (e) {
    if (isConfigError(e)) throw new UsageError(`invalid config${configFile === undefined ? '' : ` ${shown(configFile)}`}: ${e.message}`);
    throw e;
  }
  log(
    `agent-observability ${VERSION} generate: config ${configFile === undefined ? '(defaults)' : shown(configFile)}, ` +
      `${config.slos.length} SLO${config.slos.length === 1 ? '' : 's'}, out ${shown(outDir)}${values.check === true ? ' (check only)' : ''}`,
  );

  let changed = 0;
  for (const f of artifacts.files) {
    const target = path.join(outDir, ...f.path.split('/'));
    const current = await readIfExists(target);
    if (current === f.content) {
      log(`  unchanged  ${f.path}`);
      continue;
    }
    changed++;
    if (values.check === true) {
      log(current === undefined ? `  MISSING    ${f.path}` : `  DIFFERS    ${f.path} (from line ${firstDifference(current, f.content)})`);
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, f.content);
      log(`  ${current === undefined ? 'created' : 'updated'}    ${f.path}`);
    }
  }

  const alerts = artifacts.alerts.flatMap((g) => g.rules).length;
  const alertNames = new Set(artifacts.alerts.flatMap((g) => g.rules.map((r) => ('alert' in r ? r.alert : ''))));
  const records = artifacts.recording.flatMap((g) => g.rules).length;
  const what =
    `${artifacts.files.length} files: ${artifacts.dashboards.length} dashboards, 2 rule files ` +
    `(${alerts} alerting rules for ${alertNames.size} alerts, ${records} recording rules)`;
  if (values.check === true) {
    if (changed > 0) {
      io.err(`generate --check: ${changed} of ${what} out of date; regenerate them (the same command without --check)`);
      return 1;
    }
    io.out(`generate --check: all ${what} up to date`);
    return 0;
  }
  io.out(`generate: ${what}; ${changed} written, ${artifacts.files.length - changed} unchanged`);
  return 0;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      io.out(VERSION);
      return 0;
    }
    if (command !== 'generate') throw new UsageError(`unknown command "${command}" (the only command is "generate")`);
    return await generate(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`agent-observability: ${e.message}`);
      return 2;
    }
    if ((e as { code?: unknown })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: unknown })?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.err(`agent-observability: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`agent-observability: unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    return 70;
  }
}
