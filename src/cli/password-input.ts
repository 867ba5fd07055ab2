import { CliError } from './cli-error.js';

/**
 * Reads a password: from the terminal without echo when stdin is a TTY, else the first line of stdin
 * (for scripts: `printf '%s\n' "$PW" | keyhold login --user alice`).
 */
export async function readPassword(prompt: string, stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const password = stdin.isTTY ? await readFromTerminal(prompt, stdin) : await readFirstLine(stdin);
  if (password === '') throw new CliError('no password given (type it at the prompt or pipe it on stdin)');
  return password;
}

async function readFirstLine(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    // A Buffer unless someone set an encoding on stdin.
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), 'utf8');
    chunks.push(bytes);
    if (bytes.includes(0x0a)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

function readFromTerminal(prompt: string, stdin: NodeJS.ReadStream): Promise<string> {
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  let typed = '';
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
