import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { TokenView, UserView } from '../../access/service.js';
import { dataDirPaths, resolveDataDir } from '../../core/data-dir.js';
import { callAdmin, pathSegment, readNodeInfo, resolveConnection } from '../admin-client.js';
import { forgetLoginToken, saveLoginToken } from '../login-token.js';
import { printJson, printRecord, printTable, SHOWN_ONCE } from '../output.js';
import { readPassword } from '../password-input.js';
import { adminConnection, commaList, globalFlags, jsonOutput } from '../global-flags.js';

export function registerAccessCommands(program: Command): void {
  program
    .command('login')
    .description('log in as a user; saves a 12-hour token for this node in ~/.config/keyhold/token.json')
    .requiredOption('--user <name>', 'user name')
    .action(async (options: { user: string }, command: Command) => {
      const target = resolveConnection(globalFlags(command), process.env, { needToken: false });
      const password = await readPassword(`Password for ${options.user}: `);
      const login = await callAdmin<{ token: string; user: string; expiresAt: string }>({ ...target, token: '' }, 'POST', '/auth/login', {
        user: options.user,
        password,
      });
      const path = saveLoginToken({ url: target.url, user: login.user, token: login.token, expiresAt: login.expiresAt });
      printRecord({ user: login.user, expiresAt: login.expiresAt, savedTo: path }, jsonOutput(command));
    });

  program
    .command('logout')
    .description('forget the token saved by keyhold login')
    .action((_options, command: Command) => {
      const forgotten = forgetLoginToken();
      if (jsonOutput(command)) printJson({ loggedOut: forgotten });
      else console.log(forgotten ? 'Logged out' : 'Not logged in');
    });

  const user = program.command('user').description('manage users (people who log in) and their roles');
  user
    .command('create <name>')
    .description('create a user; the password is read without echo, or from stdin')
    .option('--roles <roles>', 'comma-separated: administrator, key-officer, auditor, approver, monitor')
    .action(async (name: string, options: { roles?: string }, command: Command) => {
      const target = adminConnection(command);
      const password = await readPassword(`Password for ${name}: `);
      const result = await callAdmin<{ user: UserView; approval?: { id: string } }>(target, 'POST', '/users', {
        name,
        password,
        roles: commaList(options.roles ?? ''),
      });
      printRecord({ ...result.user, approval: result.approval?.id }, jsonOutput(command), { approval: 'roles wait for approval' });
    });
  user
    .command('list')
    .description('list users')
    .action(async (_options, command: Command) => {
      printTable(
        await callAdmin<UserView[]>(adminConnection(command), 'GET', '/users'),
        ['name', 'roles', 'disabled', 'createdAt'],
        jsonOutput(command),
      );
    });
  user
    .command('show <name>')
    .description('show a user')
    .action(async (name: string, _options, command: Command) => {
      printRecord({ ...(await callAdmin<UserView>(adminConnection(command), 'GET', `/users/${pathSegment(name)}`)) }, jsonOutput(command));
    });
  user
    .command('set-roles <name> [roles...]')
    .description("replace a user's roles (none: no roles); may need approval (role.change)")
    .action(async (name: string, roles: string[], _options, command: Command) => {
      const view = await callAdmin<UserView>(adminConnection(command), 'PUT', `/users/${pathSegment(name)}/roles`, {
        roles: roles.flatMap(commaList),
      });
      printRecord({ ...view }, jsonOutput(command));
    });
  for (const action of ['disable', 'enable'] as const) {
    user
      .command(`${action} <name>`)
      .description(action === 'disable' ? 'disable a user: their tokens stop working' : 'enable a disabled user')
      .action(async (name: string, _options, command: Command) => {
        printRecord(
          { ...(await callAdmin<UserView>(adminConnection(command), 'POST', `/users/${pathSegment(name)}/${action}`)) },
          jsonOutput(command),
        );
      });
  }
  user
    .command('passwd <name>')
    .description("set a user's password (read without echo, or from stdin)")
    .action(async (name: string, _options, command: Command) => {
      const target = adminConnection(command);
      const password = await readPassword(`New password for ${name}: `);
      await callAdmin(target, 'PUT', `/users/${pathSegment(name)}/password`, { password });
      if (jsonOutput(command)) printJson({ user: name, passwordChanged: true });
      else console.log(`Password of ${name} changed`);
    });

  const token = program.command('token').description('manage API tokens (shown once, stored hashed, expiring, revocable)');
  token
    .command('create')
    .description('create a token for a user or a role (service token)')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--user <name>', 'the token acts as this user, with their current roles')
    .option('--role <role>', 'a service token with this role')
    .option('--ttl-hours <hours>', 'lifetime in hours (default 2160 = 90 days; at most a year)')
    .action(async (options: { name: string; user?: string; role?: string; ttlHours?: string }, command: Command) => {
      const ttlHours = options.ttlHours === undefined ? undefined : Number(options.ttlHours);
      const created = await callAdmin<TokenView & { token: string }>(adminConnection(command), 'POST', '/tokens', {
        name: options.name,
        user: options.user,
        role: options.role,
        ttlHours,
      });
      printRecord(
        {
          id: created.id,
          name: created.name,
          user: created.user,
          role: created.role,
          expiresAt: created.expiresAt,
          token: created.token,
        },
        jsonOutput(command),
        { token: SHOWN_ONCE },
      );
    });
  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--user <name>', "only this user's tokens")
    .action(async (options: { user?: string }, command: Command) => {
      const query = options.user ? `?user=${encodeURIComponent(options.user)}` : '';
      const rows = await callAdmin<TokenView[]>(adminConnection(command), 'GET', `/tokens${query}`);
      printTable(rows, ['id', 'name', 'user', 'role', 'status', 'expiresAt', 'lastUsedAt'], jsonOutput(command));
    });
  token
    .command('revoke <id>')
    .description('revoke a token at once')
    .action(async (id: string, _options, command: Command) => {
      const view = await callAdmin<TokenView>(adminConnection(command), 'DELETE', `/tokens/${pathSegment(id)}`);
      printRecord({ id: view.id, name: view.name, status: view.status }, jsonOutput(command));
    });
  token
    .command('retire-bootstrap')
    .description('delete the bootstrap token from init (needs an active administrator user)')
    .action(async (_options, command: Command) => {
      const target = adminConnection(command);
      await callAdmin(target, 'POST', '/tokens/bootstrap/retire');
      // The file is removed only when it belongs to this node: the data directory the CLI found it through.
      const paths = dataDirPaths(resolveDataDir(globalFlags(command).dataDir));
      const local = existsSync(paths.nodeInfo) && readNodeInfo(paths.nodeInfo).adminUrl === target.url;
      const file = paths.adminToken;
      const removed = local && existsSync(file);
      if (removed) rmSync(file);
      if (jsonOutput(command)) printJson({ bootstrapTokenRetired: true, removedFile: removed ? file : null });
      else console.log(`Bootstrap token retired${removed ? `; removed ${file}` : ''}`);
    });
}
