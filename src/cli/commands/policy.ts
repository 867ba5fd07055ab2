import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CONDITION_FIELDS, type Conditions } from '../../policies/document.js';
import type { PolicyView, SimulationResult } from '../../policies/service.js';
import { callAdmin, pathSegment } from '../admin-client.js';
import { CliError, errorCode, errorMessage } from '../cli-error.js';
import { printJson, printRecord, printTable } from '../output.js';
import { adminConnection, jsonOutput } from '../global-flags.js';

/** Reads a policy document: a JSON file, or `-` for standard input. */
function readDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${errorCode(error)}`, 2);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${errorMessage(error).split('\n')[0]}`, 2);
  }
}

const describeConditions = (conditions: Conditions) =>
  CONDITION_FIELDS.flatMap((field) => {
    const values = conditions[field];
    return values ? [`${field}=${values.join(',')}`] : [];
  }).join(' ');

const describeAttach = (attach: PolicyView['attach']) =>
  !attach
    ? '(nothing: applies nowhere)'
    : Object.entries(attach)
        .map(([kind, name]) => `${kind} ${name}`)
        .join(' in ');

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('secondary authorization: policies over the request metadata KMS sends (docs/policies.md)');

  function printPolicy(view: PolicyView, command: Command): void {
    if (jsonOutput(command)) return printJson(view);
    printRecord(
      {
        policy: view.name,
        description: view.description || undefined,
        mode: view.mode,
        attachedTo: describeAttach(view.attach),
        updatedAt: view.updatedAt,
      },
      false,
    );
    printTable(
      view.rules.map((rule) => ({
        rule: rule.id,
        effect: rule.effect,
        when: describeConditions(rule) || '(any request)',
        unless: rule.unless ? describeConditions(rule.unless) : undefined,
      })),
      ['rule', 'effect', 'when', 'unless'],
      false,
    );
  }

  policy
    .command('create')
    .description('create a policy from a JSON document (attached where its "attach" says)')
    .requiredOption('--file <file>', 'the policy document (- for standard input)')
    .action(async (options: { file: string }, command: Command) => {
      printPolicy(await callAdmin<PolicyView>(adminConnection(command), 'POST', '/policies', readDocument(options.file)), command);
    });

  policy
    .command('update <name>')
    .description("replace a policy's document (effective on the next request); keeps the attachment unless the document gives one")
    .requiredOption('--file <file>', 'the policy document (- for standard input)')
    .action(async (name: string, options: { file: string }, command: Command) => {
      printPolicy(
        await callAdmin<PolicyView>(adminConnection(command), 'PUT', `/policies/${pathSegment(name)}`, readDocument(options.file)),
        command,
      );
    });

  policy
    .command('list')
    .description('list policies')
    .action(async (_options, command: Command) => {
      const rows = await callAdmin<PolicyView[]>(adminConnection(command), 'GET', '/policies');
      if (jsonOutput(command)) return printJson(rows);
      printTable(
        rows.map((p) => ({ name: p.name, mode: p.mode, attachedTo: describeAttach(p.attach), rules: p.rules.length })),
        ['name', 'mode', 'attachedTo', 'rules'],
        false,
      );
    });

  policy
    .command('show <name>')
    .description('show a policy and its rules (--json prints the document)')
    .action(async (name: string, _options, command: Command) => {
      printPolicy(await callAdmin<PolicyView>(adminConnection(command), 'GET', `/policies/${pathSegment(name)}`), command);
    });

  policy
    .command('delete <name>')
    .description('delete a policy (effective on the next request)')
    .action(async (name: string, _options, command: Command) => {
      await callAdmin(adminConnection(command), 'DELETE', `/policies/${pathSegment(name)}`);
      if (jsonOutput(command)) printJson({ deletedPolicy: name });
      else console.log(`Deleted policy ${name}`);
    });

  policy
    .command('attach <name>')
    .description('attach a policy to a group, a keystore, or a key (replaces its attachment)')
    .option('--group <group>', 'every key of this group, through any keystore')
    .option('--keystore <keystore>', "requests through this keystore (with --key: that key of the keystore's group)")
    .option('--key <id>', 'one key (needs --keystore)')
    .action(async (name: string, options: { group?: string; keystore?: string; key?: string }, command: Command) => {
      const target =
        options.group !== undefined && options.keystore === undefined && options.key === undefined
          ? { group: options.group }
          : options.group === undefined && options.keystore !== undefined
            ? options.key === undefined
              ? { keystore: options.keystore }
              : { key: options.key, keystore: options.keystore }
            : undefined;
      if (!target) throw new CliError('give --group G, or --keystore K, or --key ID --keystore K', 2);
      printPolicy(await callAdmin<PolicyView>(adminConnection(command), 'POST', `/policies/${pathSegment(name)}/attach`, target), command);
    });

  policy
    .command('detach <name>')
    .description('detach a policy: it stays stored but applies nowhere')
    .action(async (name: string, _options, command: Command) => {
      printPolicy(await callAdmin<PolicyView>(adminConnection(command), 'POST', `/policies/${pathSegment(name)}/detach`), command);
    });

  policy
    .command('set-default <effect>')
    .description('what a group decides when no rule matches: allow (the initial default) or deny')
    .requiredOption('--group <group>', 'the key group')
    .action(async (effect: string, options: { group: string }, command: Command) => {
      if (effect !== 'allow' && effect !== 'deny') throw new CliError(`the default is allow or deny, not "${effect}"`, 2);
      const result = await callAdmin<{ group: string; default: string }>(
        adminConnection(command),
        'PUT',
        `/policy-defaults/${pathSegment(options.group)}`,
        { default: effect },
      );
      printRecord(result, jsonOutput(command));
    });

  policy
    .command('defaults')
    .description("list every group's default effect")
    .action(async (_options, command: Command) => {
      printTable(
        await callAdmin<Record<string, unknown>[]>(adminConnection(command), 'GET', '/policy-defaults'),
        ['group', 'default'],
        jsonOutput(command),
      );
    });

  policy
    .command('simulate')
    .description("would this request be allowed, and by which rule? (the data plane's evaluation; touches no key)")
    .requiredOption('--keystore <keystore>', 'the keystore the request comes through')
    .requiredOption('--key <id>', 'the external key id')
    .option('--operation <operation>', 'the XKS operation: Encrypt, Decrypt or GetKeyMetadata', 'Encrypt')
    .requiredOption('--principal <arn>', 'awsPrincipalArn')
    .option('--kms-operation <name>', 'kmsOperation (default: Encrypt, Decrypt or DescribeKey, from --operation)')
    .option('--via <service>', 'kmsViaService')
    .option('--vpc <id>', 'awsSourceVpc')
    .option('--vpce <id>', 'awsSourceVpce')
    .option('--key-arn <arn>', 'kmsKeyArn')
    .action(
      async (
        options: {
          keystore: string;
          key: string;
          operation: string;
          principal: string;
          kmsOperation?: string;
          via?: string;
          vpc?: string;
          vpce?: string;
          keyArn?: string;
        },
        command: Command,
      ) => {
        if (!['Encrypt', 'Decrypt', 'GetKeyMetadata'].includes(options.operation)) {
          throw new CliError(`--operation is Encrypt, Decrypt or GetKeyMetadata, not "${options.operation}"`, 2);
        }
        const requestMetadata = Object.fromEntries(
          Object.entries({
            awsPrincipalArn: options.principal,
            kmsOperation: options.kmsOperation,
            kmsViaService: options.via,
            awsSourceVpc: options.vpc,
            awsSourceVpce: options.vpce,
            kmsKeyArn: options.keyArn,
          }).filter(([, v]) => v !== undefined),
        );
        const result = await callAdmin<SimulationResult>(adminConnection(command), 'POST', '/policies/simulate', {
          keystore: options.keystore,
          keyId: options.key,
          operation: options.operation,
          requestMetadata,
        });
        if (jsonOutput(command)) return printJson(result);
        printRecord(
          {
            allowed: result.allowed ? 'yes' : 'no',
            decidedBy: result.decidedBy,
            policy: result.policy,
            wouldDeny: result.wouldDeny ? `yes, by ${result.wouldDenyBy} (audit-only)` : undefined,
          },
          false,
        );
        if (result.trace.length > 0) {
          console.log('');
          printTable(
            result.trace.map((t) => ({
              rule: t.rule,
              mode: t.mode,
              on: t.attachedTo,
              effect: t.effect,
              matched: t.matched ? 'yes' : `no (${t.mismatch})`,
            })),
            ['rule', 'mode', 'on', 'effect', 'matched'],
            false,
          );
        }
      },
    );
}
