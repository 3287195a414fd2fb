// Lint: ESLint's and typescript-eslint's recommended rules over every TypeScript file we write.
// `npm run lint` runs it; `npm test` runs it first, so a finding fails the suite like a test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.demo/**', '.scratch/**', 'test-artifacts/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `const node = this` is how a Node-RED node constructor keeps its node for its callbacks
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node'] }],
      // `_name` marks a parameter a callback signature requires but this code does not use
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // tests reach into internals, drive Node-RED's untyped test helper and parse arbitrary JSON
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // tests and benchmarks load the built package (dist/) and suites from paths known only at run time
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
