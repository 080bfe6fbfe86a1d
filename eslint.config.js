// ESLint (flat config): JavaScript recommended + typescript-eslint recommended, for the kit, tools and tests.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  {
    ignores: [
      'node_modules/',
      'miniprogram_dist/',
      'node_dist/',
      'examples/*/node_modules/',
      'examples/*/dist/',
      'build/',
      'demo/dist/',
      'demo-wepy1/dist/',
      'demo-wepy1/src/components/login-kit/',
      'bench/',
      'coverage/',
      'docs/api/',
      'types/',
      '.stryker-tmp/',
      'reports/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The framework examples are ES modules with their framework's compile-time globals.
    files: ['examples/**/*.{js,jsx}'],
    ignores: ['examples/taro/config/**', 'examples/taro/babel.config.js'],
    languageOptions: {
      sourceType: 'module',
      parserOptions: { ecmaFeatures: { jsx: true } },
      globals: { defineAppConfig: 'readonly', definePageConfig: 'readonly', uni: 'readonly' },
    },
  },
  {
    // Mini-program code (the native fixture app) runs with WeChat's globals.
    files: ['test/fixtures/**/*.js'],
    languageOptions: { globals: { App: 'readonly', Page: 'readonly', Component: 'readonly', getApp: 'readonly', wx: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'always' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
