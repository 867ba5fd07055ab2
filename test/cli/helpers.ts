/**
 * Helpers for end-to-end CLI tests: they run the real `bin/keyhold.js` (which imports the compiled dist/,
 * rebuilt when stale) as child processes, on loopback with ephemeral ports and temporary data directories.
 * One import for the suites; each part lives in its own module.
 */
export { BIN, ROOT } from './dist-build.js';
export * from './processes.js';
export * from './served-node.js';
export * from './node-calls.js';
export * from './cli-output.js';
export * from './cli-assertions.js';
