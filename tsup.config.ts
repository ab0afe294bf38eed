import { defineConfig } from 'tsup';

export default defineConfig({
  // `generate/index` is the build-time subpath (`agent-observability/generate`): no prom-client inside.
  // `tracing-sdk/index` (`agent-observability/tracing-sdk`) is the only entry that loads @opentelemetry/sdk-node.
  entry: {
    index: 'src/index.ts',
    'generate/index': 'src/generate/index.ts',
    'tracing-sdk/index': 'src/tracing/sdk.ts',
    // Framework integrations: each its own entry, so the root never loads a framework.
    'ai-sdk/index': 'src/ai-sdk/index.ts',
    // The `agent-observability` bin (package.json `bin` → dist/cli.js); yaml and tsx stay external (optional peers).
    cli: 'src/cli/bin.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
