#!/usr/bin/env node
// Entry point for `npx keyhold` and `npm start`: runs the compiled CLI.
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('/dist/')) {
    console.error('keyhold: not built yet; run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw error;
});
