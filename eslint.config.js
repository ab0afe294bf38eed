// Flat config: typescript-eslint recommended + the house rules from STYLE.md section 6.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-tsc/**', 'coverage/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Bare `export *` barrels hide the public surface (OTel's rule); `export * as ns` is fine.
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration[exported=null]', message: 'List exports by name.' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The catalog is data only: it must not import the runtime engine.
    files: ['src/catalog/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../metrics/*', '../instrument/*', '../exposition/*', 'prom-client'] }],
    },
  },
  {
    // generate/ is build-time and pure: the catalog and its own builders, never the runtime engine.
    files: ['src/generate/**/*.ts'],
    ignores: ['src/generate/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/metrics/*', '**/instrument/*', '**/exposition/*', '**/sla/*', '**/resilience/*', '**/tracing/*', '**/internal/*',
            '**/observability.js', 'prom-client', 'opossum', '@opentelemetry/*',
          ],
        },
      ],
    },
  },
);
