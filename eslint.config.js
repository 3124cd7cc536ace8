import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const namedExportsOnly = [
  { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
  { selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']", message: 'process.exit belongs in main.ts only.' },
];
// Every SQL statement lives in controller/src/store/ (one module per table family), so that
// what each query touches, and for which org, can be read in one place.
const sqlOnlyInStore = 'SQL belongs in controller/src/store/: add a function there.';
const noSqlHere = [
  { selector: 'TaggedTemplateExpression[tag.name=/^(sql|tx|db)$|Sql$/]', message: sqlOnlyInStore },
  { selector: 'TaggedTemplateExpression[tag.property.name=/^(sql|tx|db)$|Sql$/]', message: sqlOnlyInStore },
  { selector: "CallExpression[callee.property.name=/^(unsafe|begin|listen|notify)$/][callee.object.name=/^(sql|tx|db)$|Sql$/]", message: sqlOnlyInStore },
  { selector: "CallExpression[callee.property.name=/^(unsafe|begin|listen|notify)$/][callee.object.property.name=/^(sql|tx|db)$|Sql$/]", message: sqlOnlyInStore },
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'shared/src/gen/**', 'console/src/gen/**', 'console/dist/**', 'test-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', ...namedExportsOnly],
    },
  },
  {
    files: ['**/src/main.ts', '**/cli/main.ts', 'scripts/**', 'test/bench/**', 'vitest.config.ts', 'console/vite.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['controller/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@causeway/runtime', '@causeway/runtime/*', '**/runtime/src/**'], message: 'controller and runtime share only the protocol.' }] }] },
  },
  {
    files: ['runtime/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@causeway/controller', '@causeway/controller/*', '**/controller/src/**'], message: 'controller and runtime share only the protocol.' }] }] },
  },
  {
    // The runtime's bottom layers: what the controller sent (decoded, validated, indexed) and
    // the upstream connections. Health, routing, the proxy and the apply step build on them,
    // never the other way round (docs/runtime.md, Glossary and layers).
    files: ['runtime/src/resources/**/*.ts', 'runtime/src/upstreams/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '@causeway/controller', '@causeway/controller/*'], message: 'resources/ and upstreams/ import only shared/ and their own folder.' }] }] },
  },
  {
    files: ['controller/src/**/*.ts', 'runtime/src/**/*.ts'],
    ignores: ['controller/src/store/**', 'controller/src/testing/**', '**/*.test.ts', '**/src/main.ts', '**/cli/main.ts'],
    rules: { 'no-restricted-syntax': ['error', ...namedExportsOnly, ...noSqlHere] },
  },
  {
    // Only config code reads the environment: read, default, validate, freeze, before listening.
    files: ['shared/src/**/*.ts', 'controller/src/**/*.ts', 'runtime/src/**/*.ts'],
    ignores: ['**/config.ts', '**/src/main.ts', 'controller/src/cli/main.ts', '**/*.test.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only config code (config.ts, main.ts) reads process.env; take the value from the config.' }] },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
