import type { Command } from 'commander';
import { resolveConnection, type AdminConnection, type ConnectionFlags } from './admin-client.js';

/** The flags program.ts gives every command: where the node's admin API is, and --json. */
export type GlobalFlags = ConnectionFlags & { json?: boolean };

/** A command's global flags (its own options are passed to its action). */
export const globalFlags = (command: Command): GlobalFlags => command.optsWithGlobals<GlobalFlags>();

/** The admin API the command's flags name, else the environment, a saved login or the data directory (resolveConnection). */
export const adminConnection = (command: Command): AdminConnection => resolveConnection(globalFlags(command));

/** Whether the command prints one JSON document for scripts (--json) instead of text for people. */
export const jsonOutput = (command: Command): boolean => Boolean(globalFlags(command).json);

/** A comma-separated option value as a list, blanks dropped (`--roles auditor, approver`). */
export const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
