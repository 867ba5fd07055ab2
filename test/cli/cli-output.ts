/** Reading what the CLI printed: `label  value` records, JSON documents, and the quick start's curl command. */
import assert from 'node:assert/strict';
import { describeRun, type RunResult } from './processes.js';

/** The `label  value` lines of a record the CLI printed. */
export function parseRecord(stdout: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [, label, value] = /^(\S+)\s{2,}(.*)$/.exec(line) ?? [];
    if (label !== undefined && value !== undefined) record[label] = value;
  }
  return record;
}

/**
 * The JSON document a successful `--json` command printed on stdout, typed as the test expects it (the
 * assertions that use it check it). Stderr may hold notes for people.
 */
export function parseJsonOutput<T>(result: RunResult): T {
  assert.equal(result.code, 0, describeRun(result));
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    assert.fail(`stdout is not one JSON document\n${describeRun(result)}`);
  }
}

/** The `curl …` command as printed: from the line starting with `curl` through its `\` continuations. */
export function extractCurl(stdout: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => /^\s*curl\s/.test(line));
  if (start < 0) throw new Error(`no curl command in:\n${stdout}`);
  const command: string[] = [];
  for (const line of lines.slice(start)) {
    command.push(line);
    if (!line.endsWith('\\')) break;
  }
  return command.join('\n');
}
