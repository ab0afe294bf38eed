import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Most specific first: Vite matches aliases in order, and by prefix.
const alias = {
  'agent-observability/generate': fileURLToPath(new URL('./src/generate/index.ts', import.meta.url)),
  'agent-observability/tracing-sdk': fileURLToPath(new URL('./src/tracing/sdk.ts', import.meta.url)),
  'agent-observability': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
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
