/**
 * Writes docs/api.md, the API report of every entry point in package.json `exports`: each
 * exported name, its kind and its declared signature as the TypeScript declaration emitter
 * prints it (no bodies, no private members, inferred types spelled out). With --check it
 * writes nothing and exits 1 when the committed file differs, so a change to the public
 * surface shows up in review (OpenTelemetry JS keeps such a report for the same reason).
 *
 * It also lists the types that exported signatures use but no entry point exports: a user
 * cannot name them, so each one is either exported or kept out of the signatures on purpose.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'docs/api.md');

/** Entry points, as package.json `exports` and tsup.config.ts map them to sources. */
export const ENTRY_POINTS: readonly { readonly specifier: string; readonly source: string }[] = [
  { specifier: 'agent-observability', source: 'src/index.ts' },
  { specifier: 'agent-observability/generate', source: 'src/generate/index.ts' },
  { specifier: 'agent-observability/tracing-sdk', source: 'src/tracing/sdk.ts' },
  { specifier: 'agent-observability/ai-sdk', source: 'src/ai-sdk/index.ts' },
];

type Kind = 'function' | 'const' | 'class' | 'interface' | 'type' | 'namespace' | 'enum';

interface Entry {
  /** As users write it: `createObservability`, `catalog.METRICS`. */
  readonly name: string;
  readonly kind: Kind;
  readonly signature: string;
}

interface Unnameable {
  readonly name: string;
  readonly file: string;
  readonly usedBy: readonly string[];
}

interface EntryReport {
  readonly specifier: string;
  readonly source: string;
  readonly entries: readonly Entry[];
  readonly unnameable: readonly Unnameable[];
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const posix = (p: string): string => p.split('\\').join('/');

function createProgram(): ts.Program {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    // The report needs the declaration emitter only; a type error elsewhere is typecheck's job.
    noEmit: false,
    noEmitOnError: false,
    declaration: true,
    emitDeclarationOnly: true,
    removeComments: true,
    sourceMap: false,
    declarationMap: false,
  };
  return ts.createProgram({ rootNames: ENTRY_POINTS.map((e) => join(root, e.source)), options });
}

/** The emitted .d.ts text of every source file, keyed by the source's absolute path. */
function emitDeclarations(program: ts.Program): Map<string, ts.SourceFile> {
  const out = new Map<string, ts.SourceFile>();
  const outDir = program.getCompilerOptions().outDir ?? root;
  const rootDir = program.getCompilerOptions().rootDir ?? root;
  program.emit(undefined, (fileName, text) => {
    if (!fileName.endsWith('.d.ts')) return;
    const source = resolve(rootDir, relative(outDir, fileName)).replace(/\.d\.ts$/, '.ts');
    out.set(posix(source), ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true));
  }, undefined, true);
  return out;
}

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/** A class as users see it: private members (`private x;`, `#private;`) dropped. */
function publicClass(node: ts.ClassDeclaration): ts.ClassDeclaration {
  const members = node.members.filter(
    (m) => !hasModifier(m, ts.SyntaxKind.PrivateKeyword) && !(m.name !== undefined && ts.isPrivateIdentifier(m.name)),
  );
  return ts.factory.updateClassDeclaration(node, node.modifiers, node.name, node.typeParameters, node.heritageClauses, members);
}

function statementNames(s: ts.Statement): string[] {
  if (ts.isVariableStatement(s)) return s.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  const name = (s as { name?: ts.Node }).name;
  return name !== undefined && ts.isIdentifier(name) ? [name.text] : [];
}

function kindOf(s: ts.Statement): Kind {
  if (ts.isFunctionDeclaration(s)) return 'function';
  if (ts.isClassDeclaration(s)) return 'class';
  if (ts.isInterfaceDeclaration(s)) return 'interface';
  if (ts.isTypeAliasDeclaration(s)) return 'type';
  if (ts.isEnumDeclaration(s)) return 'enum';
  if (ts.isModuleDeclaration(s)) return 'namespace';
  return 'const';
}

/** The declaration text of `name` in an emitted .d.ts, without `export`/`declare` (overloads joined). */
function declarationOf(dts: ts.SourceFile, name: string): { kind: Kind; text: string } | undefined {
  const found = dts.statements.filter((s) => statementNames(s).includes(name));
  const first = found[0];
  if (first === undefined) return undefined;
  const text = found
    .map((s) => {
      if (ts.isVariableStatement(s)) {
        const decl = s.declarationList.declarations.find((d) => ts.isIdentifier(d.name) && d.name.text === name);
        const keyword = (s.declarationList.flags & ts.NodeFlags.Const) !== 0 ? 'const' : 'let';
        return `${keyword} ${decl === undefined ? name : printer.printNode(ts.EmitHint.Unspecified, decl, dts)};`;
      }
      const node = ts.isClassDeclaration(s) ? publicClass(s) : s;
      return printer.printNode(ts.EmitHint.Unspecified, node, dts);
    })
    .map((t) => t.replace(/^(export )?(declare )?(default )?/, ''))
    .join('\n');
  return { kind: kindOf(first), text };
}

function resolveAlias(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
}

function isModuleSymbol(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => ts.isSourceFile(d));
}

function isOwnSource(file: ts.SourceFile): boolean {
  const p = posix(file.fileName);
  return p.startsWith(posix(join(root, 'src/'))) && !p.includes('/node_modules/');
}

/** Every type name used in the declared (not inferred) part of `decl`: parameters, return types, members, heritage. */
function referencedTypes(checker: ts.TypeChecker, decl: ts.Node): Set<ts.Symbol> {
  const found = new Set<ts.Symbol>();
  const visit = (n: ts.Node): void => {
    // Bodies and initializers are implementation; private members are not API.
    if (ts.isBlock(n) || (ts.isClassElement(n) && (hasModifier(n, ts.SyntaxKind.PrivateKeyword) || (n.name !== undefined && ts.isPrivateIdentifier(n.name))))) return;
    if (ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n) || ts.isParameter(n)) {
      if (n.type !== undefined) visit(n.type);
      if (ts.isParameter(n) || ts.isPropertyDeclaration(n)) n.modifiers?.forEach(visit);
      return;
    }
    let nameNode: ts.Node | undefined;
    if (ts.isTypeReferenceNode(n)) nameNode = n.typeName;
    else if (ts.isExpressionWithTypeArguments(n)) nameNode = n.expression;
    else if (ts.isTypeQueryNode(n)) nameNode = n.exprName;
    if (nameNode !== undefined) {
      const s = checker.getSymbolAtLocation(ts.isQualifiedName(nameNode) ? nameNode.right : nameNode);
      if (s !== undefined) found.add(resolveAlias(checker, s));
    }
    ts.forEachChild(n, visit);
  };
  visit(decl);
  return found;
}

function reportEntryPoint(program: ts.Program, dts: Map<string, ts.SourceFile>, specifier: string, source: string): EntryReport {
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(join(root, source));
  const moduleSymbol = file === undefined ? undefined : checker.getSymbolAtLocation(file);
  if (file === undefined || moduleSymbol === undefined) throw new Error(`${source}: not a module`);

  const entries: Entry[] = [];
  /** Resolved symbol → the public name that reaches it. */
  const nameable = new Map<ts.Symbol, string>();
  /** Public name → its declarations in our sources. */
  const declared: [string, ts.Declaration][] = [];

  const add = (publicName: string, exported: ts.Symbol): void => {
    const symbol = resolveAlias(checker, exported);
    nameable.set(symbol, publicName);
    if (isModuleSymbol(symbol)) {
      entries.push({ name: publicName, kind: 'namespace', signature: `namespace ${publicName} { /* the exports below */ }` });
      for (const member of checker.getExportsOfModule(symbol)) add(`${publicName}.${member.name}`, member);
      return;
    }
    const decls = symbol.declarations ?? [];
    const decl = decls[0];
    if (decl === undefined) throw new Error(`${specifier}: ${publicName} has no declaration`);
    decls.forEach((d) => declared.push([publicName, d]));
    const emitted = dts.get(posix(decl.getSourceFile().fileName));
    const found = emitted === undefined ? undefined : declarationOf(emitted, symbol.name);
    if (found === undefined) throw new Error(`${specifier}: no emitted declaration for ${publicName} (${decl.getSourceFile().fileName})`);
    // Declarations merged under one name (a `const X` and a `type X`) are listed together.
    const alias = symbol.name === publicName.split('.').pop() ? '' : `// exported as ${publicName}\n`;
    entries.push({ name: publicName, kind: found.kind, signature: alias + found.text });
  };
  for (const exported of checker.getExportsOfModule(moduleSymbol)) add(exported.name, exported);
  entries.sort(byName);

  const unnameable = new Map<ts.Symbol, Set<string>>();
  for (const [publicName, decl] of declared) {
    for (const used of referencedTypes(checker, decl)) {
      if (nameable.has(used) || (used.flags & ts.SymbolFlags.TypeParameter) !== 0) continue;
      const home = used.declarations?.[0]?.getSourceFile();
      if (home === undefined || !isOwnSource(home)) continue;
      const users = unnameable.get(used) ?? new Set<string>();
      users.add(publicName);
      unnameable.set(used, users);
    }
  }
  const missing = [...unnameable].map(([s, users]) => ({
    name: s.name,
    file: posix(relative(root, s.declarations?.[0]?.getSourceFile().fileName ?? '')),
    usedBy: [...users].sort(),
  }));
  return { specifier, source, entries, unnameable: missing.sort(byName) };
}

function anchor(specifier: string, name: string): string {
  return `${specifier}-${name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

function render(reports: readonly EntryReport[]): string {
  const lines: string[] = [
    '<!-- Code generated by scripts/api-report.ts (`npm run api:report`). DO NOT EDIT. -->',
    '# API report',
    '',
    'The public surface of each entry point in `package.json` `exports`: every exported name, its kind and its',
    'declaration as the TypeScript declaration emitter prints it. `npm run api:check` (in CI) fails when this file',
    'differs from the sources, so a change to the public API is visible in review; every rename or removal also',
    'goes into CHANGELOG.md. Usage and examples are in the README and the other files of `docs/`.',
    '',
  ];
  for (const r of reports) {
    lines.push(`- [\`${r.specifier}\`](#${anchor(r.specifier, '')}) (${r.entries.length} names, \`${r.source}\`)`);
  }
  for (const r of reports) {
    lines.push('', `<a id="${anchor(r.specifier, '')}"></a>`, '', `## \`${r.specifier}\``, '', `Source: \`${r.source}\`.`, '');
    lines.push('| name | kind |', '|---|---|');
    for (const e of r.entries) lines.push(`| [\`${e.name}\`](#${anchor(r.specifier, e.name)}) | ${e.kind} |`);
    if (r.unnameable.length > 0) {
      lines.push('', 'Types used by the signatures below that this entry point does not export (users cannot name them):', '');
      for (const u of r.unnameable) lines.push(`- \`${u.name}\` (\`${u.file}\`), used by ${u.usedBy.map((n) => `\`${n}\``).join(', ')}`);
    }
    for (const e of r.entries) {
      lines.push('', `<a id="${anchor(r.specifier, e.name)}"></a>`, '', `### \`${e.name}\` (${e.kind})`, '', '```ts', e.signature, '```');
    }
  }
  lines.push('');
  return lines.join('\n');
}

export function renderApiReport(): string {
  const program = createProgram();
  const dts = emitDeclarations(program);
  return render(ENTRY_POINTS.map((e) => reportEntryPoint(program, dts, e.specifier, e.source)));
}

function diffHint(current: string, expected: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'api-report-'));
  try {
    const a = join(dir, 'committed.md');
    const b = join(dir, 'generated.md');
    writeFileSync(a, current);
    writeFileSync(b, expected);
    try {
      execFileSync('diff', ['-u', '--label', 'docs/api.md (committed)', '--label', 'docs/api.md (from the sources)', a, b], { encoding: 'utf8' });
      return '';
    } catch (e) {
      const out = (e as { stdout?: string }).stdout ?? '';
      const shown = out.split('\n').slice(0, 80);
      return shown.join('\n') + (out.split('\n').length > 80 ? '\n…' : '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderApiReport();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing counts as drift
    }
    if (current !== text) {
      console.error(diffHint(current, text));
      console.error('docs/api.md is out of date (the public API changed): run `npm run api:report`, review the diff, and note renames or removals in CHANGELOG.md');
      process.exit(1);
    }
    console.log('docs/api.md is up to date');
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
