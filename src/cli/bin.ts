#!/usr/bin/env node
/** The `agent-observability` command (package.json `bin`): see `generate.ts`. */
import { runCli } from './generate.js';

void runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then((code) => {
  process.exitCode = code;
});
