// ESLint flat config: typescript-eslint with type information. The rules that matter most for a
// long-lived socket server: no floating or misused promises (an unhandled rejection ends the process).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'docs/', 'dist/', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/modules/**/*.ts'],
    ignores: ['src/modules/registry.ts', 'src/modules/**/*.test.ts', 'src/modules/**/*.fixture.ts'],
    rules: {
      // Modules reach services only through their context: never the storage, transports or server.
      'no-restricted-imports': ['error', { patterns: ['**/storage/*', '**/transports/*', '!**/transports/http-kit.ts', '**/server.ts', '**/operations/*', '**/core/router.ts', '**/core/sessions.ts', '**/core/stream/*', '**/core/module-loader.ts', '**/core/connection-gate.ts', '**/core/auth-throttle.ts'] }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      // The core knows no feature: it imports nothing from modules, storage backends or transports.
      'no-restricted-imports': ['error', { patterns: ['**/modules/*/**', '**/storage/*', '**/transports/*', '**/server.ts'] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.test.ts', 'src/cli/**/*.ts', 'src/main.ts'],
    // node:test's describe/it return promises the runner itself awaits.
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', '**/*.contract.ts', '**/*.fixture.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
