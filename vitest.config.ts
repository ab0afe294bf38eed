import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Most specific first: Vite matches aliases in order, and by prefix.
const alias = {
  'agent-observability/generate': fileURLToPath(new URL('./src/generate/index.ts', import.meta.url)),
  'agent-observability/tracing-sdk': fileURLToPath(new URL('./src/tracing/sdk.ts', import.meta.url)),
  'agent-observability/ai-sdk': fileURLToPath(new URL('./src/ai-sdk/index.ts', import.meta.url)),
  'agent-observability': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    // Coverage of src/ with a gate (.ci/run sets AGENTOBS_COVERAGE=1 around the README's `npm test`; or `npm run test:coverage`).
    // Thresholds sit a little below what the whole suite reaches (statements 95.4, branches 90.2, functions 96.8, lines 96.8 %);
    // ratchet them up, never down.
    coverage: {
      enabled: process.env.AGENTOBS_COVERAGE === '1',
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { statements: 94, branches: 89, functions: 95, lines: 95 },
    },
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          // test/frameworks: each integration driven through its framework's own fakes (no network, no daemons).
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/frameworks/**/*.test.ts'],
          environment: 'node',
          // Type tests: the public surface is part of the contract.
          typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One real stack per file; files run one after another on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
