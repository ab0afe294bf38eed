/**
 * The root package loads no framework, and an integration loads only what it needs: every
 * module resolved while importing an entry point is recorded by a resolve hook in a child
 * process, and no framework package may be among them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FRAMEWORKS = ['ai', '@ai-sdk/provider', '@langchain/core', '@openai/agents', '@openai/agents-core', '@modelcontextprotocol/sdk', 'openai', '@anthropic-ai/sdk'];
const dir = mkdtempSync(path.join(tmpdir(), 'agentobs-loading-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (by name) of every file resolved while importing `entry` (a path under src/). */
function packagesLoadedBy(entry: string): Set<string> {
  const log = path.join(dir, `${path.basename(path.dirname(entry))}-${path.basename(entry)}.log`);
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`);
  const register = path.join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(log, '');
  execFileSync(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(register).href, '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(path.join(ROOT, entry)).href)});`], { cwd: ROOT, stdio: 'pipe' });
  const packages = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m !== null) packages.add(m[1] as string);
  }
  return packages;
}

describe('what each entry point loads', () => {
  it('the root package loads no framework', () => {
    const loaded = packagesLoadedBy('src/index.ts');
    expect(loaded.has('prom-client')).toBe(true);
    expect(FRAMEWORKS.filter((f) => loaded.has(f))).toEqual([]);
  });

  it('the AI SDK integration does not load the AI SDK either: it is a plain object the SDK calls', () => {
    const loaded = packagesLoadedBy('src/ai-sdk/index.ts');
    expect(FRAMEWORKS.filter((f) => loaded.has(f))).toEqual([]);
  });
});
