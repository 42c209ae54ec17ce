/**
 * The intended import graph of the whole tree, checked by `npm run lint` (dependency-cruiser).
 * Each rule says what a folder may NOT import; together they describe the layers:
 *
 *   core            ← imports nothing of ours (types, errors, logger interface, back-off)
 *   channels/<x>    ← core only (each channel is a plug-in behind core's interfaces)
 *   config, onec, media, redis, http (app, secret-compare), infra
 *                   ← core (+ their own folder; infra may use config; the local harness more)
 *   licensing, coordination, lanes
 *                   ← core and redis (the connection, the script loader, the token lock)
 *   emulators/<x>, onec/emulator
 *                   ← standalone: nothing of ours outside themselves
 *   http/routes     ← core and http only: they get what they need through `*Deps` interfaces
 *   features/feature-contract.ts
 *                   ← the contract features are built on (a narrow context of named services;
 *                     channels through core's capabilities): the layers above, no feature
 *   features (routing, operators, outbound, ops, pull, settings, panel)
 *                   ← the layers above and the contract, never a channel, the composition root or the CLI
 *   connector.ts    ← the composition root: everything in src/ but the CLI
 *   cli             ← everything in src/
 *   workers         ← the CLI or the composition root only
 *   test            ← src/ (never bench/ or soak/); bench, soak ← src/ (never test/)
 *
 * KNOWN_EXCEPTIONS are today's violations that other work removes; each has its TODO.
 */

/** TODO(issue 12, item 3): another engineer is reworking these routes onto `*Deps` interfaces. */
const ROUTES_IMPORTING_FEATURE_INTERNALS = ['^src/http/routes/operator-routes\\.ts$', '^src/http/routes/chat-routes\\.ts$'];
/** TODO(issue 12, item 5): the WhatsApp pairing routes take the runner's type from the channel. */
const ROUTES_IMPORTING_CHANNELS = ['^src/http/routes/whatsapp-routes\\.ts$'];

const OURS = '^(src|workers|test|bench|soak|scripts)/';
/** The feature modules, and the folder of the contract they are built on (`features/`). */
const FEATURE_MODULES = '^src/(routing|operators|outbound|ops|pull|settings|panel)/';
const FEATURES = '^src/(routing|operators|outbound|ops|pull|settings|panel|features)/';
const ENTRY_POINTS = [
  '^src/cli/main\\.ts$',
  '^workers/',
  '^scripts/',
  '^bench/run\\.ts$',
  '^bench/pull-only\\.ts$',
  '^bench/cluster-only\\.ts$',
  '^bench/push-only\\.ts$',
  '^bench/cpu-cost\\.ts$',
  '^soak/run\\.ts$',
  '\\.test\\.ts$',
  '^test/.*/fixtures/',
  '^src/onec/emulator/emulator-cli\\.ts$',
  // the operator panel's browser modules (served as files, loaded by the page)
  '^src/panel/static/',
  '\\.d\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and tests fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code, unless it is an entry point.',
      from: { orphan: true, path: OURS, pathNot: ENTRY_POINTS },
      to: {},
    },
    {
      name: 'no-unreachable',
      severity: 'error',
      comment:
        'Every module of ours is reachable from an entry point (the CLI, workers, tests, bench, soak, scripts); else it is dead code.',
      from: { path: ENTRY_POINTS },
      to: { path: OURS, pathNot: ENTRY_POINTS, reachable: false },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve (grammy/types: types only, resolved by TypeScript through the package exports).',
      from: {},
      to: { couldNotResolve: true, pathNot: '^grammy/types$' },
    },
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      comment: 'src/core is the shared vocabulary; it imports nothing else of ours.',
      from: { path: '^src/core/' },
      to: { path: OURS, pathNot: '^src/core/' },
    },
    {
      name: 'channel-imports-only-core',
      severity: 'error',
      comment: 'A channel is a plug-in behind core interfaces: it imports core and itself only.',
      from: { path: '^src/channels/([^/]+)/' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/channels/$1/'] },
    },
    {
      name: 'base-layer-imports-only-core',
      severity: 'error',
      comment: 'config, onec, media and redis import core (and their own folder).',
      from: { path: '^src/(config|onec|media|redis)/', pathNot: '^src/onec/emulator/' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/$1/'] },
    },
    {
      name: 'redis-users-import-core-and-redis',
      severity: 'error',
      comment: 'licensing and coordination import core, src/redis (script loader, token lock) and their own folder.',
      from: { path: '^src/(licensing|coordination)/' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/redis/', '^src/$1/'] },
    },
    {
      name: 'lanes-import-core-and-redis',
      severity: 'error',
      comment: 'The ordered lanes sit on the Redis connection (replica waits) and core, nothing above them.',
      from: { path: '^src/lanes/' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/lanes/', '^src/redis/'] },
    },
    {
      name: 'http-basics-import-only-core',
      severity: 'error',
      comment: 'The HTTP app and its helpers know no feature.',
      from: { path: '^src/http/[^/]+\\.ts$' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/http/[^/]+\\.ts$'] },
    },
    {
      name: 'infra-imports-core-and-config',
      severity: 'error',
      comment: 'infra (embedded Redis, logger, Chromium) imports core, config and itself; the local harness is below.',
      from: { path: '^src/infra/', pathNot: '^src/infra/local-stack\\.ts$' },
      to: { path: OURS, pathNot: ['^src/core/', '^src/config/', '^src/infra/'] },
    },
    {
      name: 'local-harness-imports-no-feature',
      severity: 'error',
      comment: 'The local stack (emulators, Redis, a license) builds what the connector talks to, never the connector.',
      from: { path: '^src/infra/local-stack\\.ts$' },
      to: {
        path: OURS,
        pathNot: ['^src/(core|config|infra|licensing|emulators)/', '^src/onec/emulator/'],
      },
    },
    {
      name: 'emulators-standalone',
      severity: 'error',
      comment: 'An emulator stands in for a remote system: it shares no code with the connector.',
      from: { path: '^src/(emulators/[^/]+|onec/emulator)/' },
      to: { path: OURS, pathNot: '^src/$1/' },
    },
    {
      name: 'routes-depend-on-deps-interfaces',
      severity: 'error',
      comment: 'A route plugin gets what it needs through its `*Deps` interface, not from feature internals.',
      from: { path: '^src/http/routes/', pathNot: [...ROUTES_IMPORTING_FEATURE_INTERNALS, ...ROUTES_IMPORTING_CHANNELS] },
      to: { path: OURS, pathNot: ['^src/core/', '^src/http/[^/]+\\.ts$'] },
    },
    {
      name: 'routes-import-no-channel',
      severity: 'error',
      comment: 'Routes never see a channel (only while the listed exception exists).',
      from: { path: '^src/http/routes/', pathNot: ROUTES_IMPORTING_CHANNELS },
      to: { path: '^src/channels/' },
    },
    {
      name: 'features-import-no-channel',
      severity: 'error',
      comment: 'Features use channels through core capabilities, never a channel module.',
      from: { path: FEATURES },
      to: { path: '^src/channels/' },
    },
    {
      name: 'features-not-composition-root',
      severity: 'error',
      comment: 'Features do not reach into the composition root: they get the services they name (src/features/feature-contract.ts).',
      from: { path: FEATURES },
      to: { path: '^src/connector\\.ts$' },
    },
    {
      name: 'feature-contract-imports-no-feature',
      severity: 'error',
      comment: 'The feature contract sits below every feature: it names services by type and imports no feature module.',
      from: { path: '^src/features/' },
      to: { path: FEATURE_MODULES },
    },
    {
      name: 'features-import-no-cli',
      severity: 'error',
      comment: 'Features never import the CLI, the emulators or the workers.',
      from: { path: FEATURES },
      to: { path: ['^src/cli/', '^src/emulators/', '^src/onec/emulator/', '^workers/'] },
    },
    {
      name: 'composition-root-not-cli',
      severity: 'error',
      comment: 'connector.ts composes src/; the CLI sits above it.',
      from: { path: '^src/connector(-bus)?\\.ts$' },
      to: { path: ['^src/cli/', '^workers/', '^test/', '^bench/', '^soak/', '^scripts/'] },
    },
    {
      name: 'src-not-tests-or-tools',
      severity: 'error',
      comment: 'Product code never imports tests, benchmarks, the soak or scripts.',
      from: { path: '^src/' },
      to: { path: ['^test/', '^bench/', '^soak/', '^scripts/', '^workers/'] },
    },
    {
      name: 'workers-only-entry',
      severity: 'error',
      comment: 'A worker entry point starts the CLI (or the composition root) and nothing else.',
      from: { path: '^workers/' },
      to: { path: OURS, pathNot: ['^src/cli/', '^src/connector\\.ts$'] },
    },
    {
      name: 'test-not-bench',
      severity: 'error',
      comment: 'Tests do not depend on the benchmarks or the soak: shared helpers live in test/ or src/.',
      from: { path: '^test/' },
      to: { path: ['^bench/', '^soak/'] },
    },
    {
      name: 'tools-not-test',
      severity: 'error',
      comment: 'bench, soak and scripts do not depend on test code.',
      from: { path: '^(bench|soak|scripts)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['node_modules', '^test-artifacts/'] },
  },
};
