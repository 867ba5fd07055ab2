// Lint rules for the whole TypeScript tree (type-aware: the rules read the TypeScript types).
// `npm run lint` runs it and `npm test` runs lint first; formatting is Prettier's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const srcFolders = [
  'access',
  'admin',
  'approvals',
  'audit',
  'cli',
  'core',
  'crypto',
  'domain',
  'fleet',
  'health',
  'keys',
  'keystores',
  'kill-switch',
  'kms-sim',
  'metrics',
  'policies',
  'registry',
  'roots',
  'server',
  'storage',
  'throttle',
  'unseal',
  'xks',
];
const features = [
  'keys',
  'keystores',
  'policies',
  'access',
  'approvals',
  'kill-switch',
  'audit',
  'fleet',
  'unseal',
  'health',
  'metrics',
  'throttle',
];

/** One `no-restricted-imports` block per layer: imports of a forbidden top-level folder of src/ are errors. */
function layerRules(layers) {
  return layers.map(({ layer, folders, forbidden, allowed = [] }) => {
    const blocked = forbidden.includes('*') ? srcFolders.filter((f) => !allowed.includes(f) && !folders.includes(f)) : forbidden;
    return {
      files: folders.map((f) => `src/${f}/**/*.ts`),
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./)+(${blocked.join('|')})/`,
                message: `the ${layer} layer may not import this folder (docs/architecture.md#layers)`,
              },
            ],
          },
        ],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'console/dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers of docs/architecture.md#layers: a layer imports only from the layers below it. Each entry names
  // the folders of a layer and the top-level folders of src/ it must not reach.
  ...layerRules([
    { layer: 'core', folders: ['core', 'crypto', 'domain'], forbidden: ['*'] },
    { layer: 'roots of trust', folders: ['roots'], forbidden: ['*'], allowed: ['core', 'crypto', 'domain'] },
    { layer: 'live state', folders: ['registry'], forbidden: ['*'], allowed: ['core', 'crypto', 'domain', 'roots'] },
    { layer: 'storage connection', folders: ['storage'], forbidden: ['*'], allowed: ['core', 'crypto', 'domain'] },
    { layer: 'XKS data plane', folders: ['xks'], forbidden: ['*'], allowed: ['core', 'crypto', 'domain', 'roots', 'registry'] },
    {
      layer: 'features',
      folders: features,
      forbidden: ['admin', 'server', 'cli', 'kms-sim'],
    },
    { layer: 'admin API', folders: ['admin'], forbidden: ['server', 'cli', 'kms-sim'] },
    { layer: 'server', folders: ['server'], forbidden: ['cli', 'kms-sim'] },
    { layer: 'KMS simulator', folders: ['kms-sim'], forbidden: ['*'], allowed: ['core', 'crypto', 'domain', 'xks'] },
  ]),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    // Merged, not replaced: disableTypeChecked's own languageOptions turn the project service off for these files.
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { ...globals.node } },
  },
);
