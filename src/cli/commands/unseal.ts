import type { Command } from 'commander';
import type { UnsealStatus } from '../../unseal/service.js';
import { callAdmin } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { printJson } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

export function registerUnsealCommand(program: Command): void {
  program
    .command('unseal')
    .description("enter one key custodian's Shamir share (prompted without echo, or one line on stdin) to unseal the node")
    .option('--status', 'only show whether the node is sealed and how many shares are in')
    .option('--reset', 'discard the shares entered so far')
    .action(async (options: { status?: boolean; reset?: boolean }, command: Command) => {
      if (options.status && options.reset) throw new CliError('give --status or --reset, not both', 2);
      const connection = adminConnection(command);
      let status: UnsealStatus;
      if (options.status) status = await callAdmin<UnsealStatus>(connection, 'GET', '/unseal');
      else if (options.reset) status = await callAdmin<UnsealStatus>(connection, 'DELETE', '/unseal');
      else {
        const share = process.stdin.isTTY ? await promptHidden('Share (input hidden): ') : await firstLine(process.stdin);
        if (!share) throw new CliError('no share given; paste one at the prompt, or pipe one line: echo SHARE | keyhold unseal', 2);
        status = await callAdmin<UnsealStatus>(connection, 'POST', '/unseal', { share });
      }
      if (jsonOutput(command)) printJson(status);
      else console.log(status.message);
    });
}

/** The first non-empty line of a stream (the rest is ignored). */
async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    const line = text.split(/\r?\n/).find((l, i, all) => l.trim() !== '' && i < all.length - 1);
    if (line !== undefined) return line.trim();
  }
  return text.trim();
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(() => resolve(value.trim()));
        if (ch === '\u0003') return finish(() => reject(new CliError('cancelled; no share was sent', 130)));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
