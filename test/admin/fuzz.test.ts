/**
 * Property-based fuzzing of the admin API of one real node, generated from the node's own OpenAPI document
 * (GET /api/v1/openapi.json): every documented route, with bodies built from its request schema (valid, then
 * mutated: fields dropped, retyped or added), path and query values (existing names, unknown ones, hostile
 * strings), huge and deeply nested JSON, malformed JSON and wrong content types, with the admin token or none.
 * Every answer must be 2xx or 4xx, a 4xx with a one-line `{"error": …}` body; never a 5xx, a dropped
 * connection or a crash. A batch whose every call but its GETs was refused must leave the database as it
 * was (a dump of its tables, minus the audit log, which records refusals).
 *
 * Seeded and reproducible: FUZZ_SEED=<seed>; FUZZ_SCALE=<factor> scales the run (`npm run fuzz`).
 * Over 300 lines on purpose: the generators, the checks and the run share the node, the operations read from
 * its document and the run's statistics; split, each part would take all three as parameters.
 * Left out: POST /tokens/bootstrap/retire (it would retire the token the fuzzer uses, once a generated user
 * is an administrator).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { Agent } from 'node:https';
import { join } from 'node:path';
import { mutateTree, type Json, type TreeMutation } from '../helpers/fuzz-mutations.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { keepAliveAgent, sendHttps, type RawResponse } from '../helpers/raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1_401_014);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const BATCH = 32;
const RUNS = Math.ceil(640 * SCALE); // 640 × 32 = 20,480 requests at scale 1
const MIN_REQUESTS = Math.floor(20_000 * SCALE);
/** Generous: about 9 ms of CPU a request (client and node share this process), on a machine others share too. */
const TIMEOUT = 1_200_000 * Math.max(1, SCALE);
const EXCLUDED = new Set(['POST /api/v1/tokens/bootstrap/retire']);
/**
 * Tables whose rows change without a successful call: the audit log records refusals; heartbeats tick;
 * the fleet's change sequence follows every row the clock changes too (below).
 */
const VOLATILE_TABLE = /^(audit|kysely_|login_attempts$|fleet|nodes$|changes$|sqlite_)/;
/**
 * Columns read in place of `*`: an approval request past its expiry turns `expired` when it is next read (the
 * clock's doing, not a call's; the fuzzer makes approval policies that expire at once), so its status and
 * finish time are read as they were while it was pending.
 */
const COLUMNS: Record<string, string> = {
  approval_requests:
    'id, operation, group_id, params, mode, requester_id, policy, created_at, expires_at, result, error, ' +
    "case when status = 'expired' then 'pending' else status end as status, " +
    "case when status = 'expired' then null else finished_at end as finished_at",
};

interface Schema {
  type?: string | string[];
  enum?: Json[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  nullable?: boolean;
}
interface Parameter {
  in: 'path' | 'query';
  name: string;
  schema?: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: Schema;
}

let node: TestNode;
let agent: Agent;
let operations: Operation[];
let db: Database.Database;
const stats = { total: 0, byStatus: new Map<number, number>(), refusedBatches: 0, unchangedChecks: 0 };

// ---------------------------------------------------------------------------------------------
// Generators from the OpenAPI document
// ---------------------------------------------------------------------------------------------

const NAMES = ['demo', 'demo-key', 'admin', 'acme', 'bootstrap', '1', '0', 'none'];
const hostile = fc.constantFrom(
  '',
  '..',
  '.',
  '%2e%2e',
  '%00',
  '%ff',
  '%',
  '%zz',
  ' ',
  '%20',
  'a'.repeat(300),
  'é',
  '😀',
  '__proto__',
  'constructor',
  '-1',
  '1e400',
  '9007199254740993',
  'NaN',
  'null',
  '[]',
  '{}',
  "'; drop table keys; --",
  '%3Cscript%3E',
);
const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/) },
  { weight: 2, arbitrary: hostile },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) },
);

const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, '', 0, -1, 1e308, -1e308, 0.5, true, [], {}, 'x'.repeat(5000), ['a'], { a: null }) },
);

/** Values that fit the schema (the generator's idea of a valid body); mutation comes later. */
function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<Json> {
  if (!schema || depth > 4) return anyJson;
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const value = ((): fc.Arbitrary<Json> => {
    switch (type) {
      case 'string':
        return fc.oneof(
          fc.constantFrom(...NAMES, '/acme', 'us-east-1', 'administrator', 'auditor', 'a long enough password!'),
          fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }),
        );
      case 'integer':
        return fc.integer({ min: schema.minimum ?? -5, max: schema.maximum ?? 400 });
      case 'number':
        return fc.double({ min: schema.minimum ?? -5, max: schema.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(fromSchema(schema.items, depth + 1), { maxLength: Math.min(schema.maxItems ?? 4, 4) });
      case 'object': {
        const props = schema.properties ?? {};
        const required = new Set(schema.required ?? []);
        const entries = Object.entries(props).map(([key, sub]) => [key, fromSchema(sub, depth + 1)] as const);
        if (entries.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 });
        return fc.record(Object.fromEntries(entries), {
          requiredKeys: [...required].filter((k) => k in props),
        });
      }
      default:
        return anyJson;
    }
  })();
  return schema.nullable ? fc.oneof(value, fc.constant(null)) : value;
}

const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.record({ t: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ t: fc.constant('set' as const), at: fc.nat(), value: anyJson }),
  fc.record({
    t: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'name', 'id', 'extra', ''), fc.string({ maxLength: 8 })),
    value: anyJson,
  }),
);

type BodyKind = 'valid' | 'mutated' | 'huge' | 'deep' | 'malformed' | 'none' | 'notObject';
const bodyKind = fc.oneof(
  { weight: 6, arbitrary: fc.constant<BodyKind>('valid') },
  { weight: 8, arbitrary: fc.constant<BodyKind>('mutated') },
  { weight: 1, arbitrary: fc.constant<BodyKind>('huge') },
  { weight: 1, arbitrary: fc.constant<BodyKind>('deep') },
  { weight: 2, arbitrary: fc.constant<BodyKind>('malformed') },
  { weight: 1, arbitrary: fc.constant<BodyKind>('none') },
  { weight: 1, arbitrary: fc.constant<BodyKind>('notObject') },
);
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    undefined,
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/jsonx',
    'application/octet-stream',
    '',
    '*/*',
  ),
);
const auth = fc.oneof(
  { weight: 18, arbitrary: fc.constant<'admin' | 'none' | 'junk'>('admin') },
  fc.constantFrom<'admin' | 'none' | 'junk'>('none', 'junk'),
);

const requestSpec = fc.record({
  op: fc.nat(),
  segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
  query: fc.array(
    fc.tuple(fc.oneof(fc.constantFrom('keystore', 'user', 'status', 'limit', 'cursor', 'from'), fc.string({ maxLength: 6 })), segment),
    {
      maxLength: 3,
    },
  ),
  bodyKind,
  valid: fc.nat(),
  mutations: fc.array(treeMutation, { minLength: 1, maxLength: 3 }),
  contentType,
  auth,
  depth: fc.constantFrom(50, 1000, 20_000, 100_000),
  hugeSize: fc.constantFrom(100_000, 1_100_000),
  malformed: fc.constantFrom('{', '{"a":', '{"a":1,}', "{'a':1}", '\u0000', 'nul', '{"a":1}{"b":2}', '\ufeff{}', '[1,2', '"str'),
});
type Spec = typeof requestSpec extends fc.Arbitrary<infer T> ? T : never;

/** Draws a valid body for an operation, deterministically from `seed`. */
const bodyArbitraries = new Map<Operation, fc.Arbitrary<Json>>();
function validBody(op: Operation, seed: number): Json {
  let arbitrary = bodyArbitraries.get(op);
  if (!arbitrary) bodyArbitraries.set(op, (arbitrary = fromSchema(op.body)));
  const [sample] = fc.sample(arbitrary, { seed, numRuns: 1 });
  return sample ?? {};
}

function buildRequest(spec: Spec): { method: string; path: string; headers: Record<string, string>; body?: Buffer; op: Operation } {
  const op = operations[spec.op % operations.length]!;
  let index = 0;
  const path = op.path.replace(/\{[^}]+\}/g, () => spec.segments[index++ % spec.segments.length]!);
  const query = spec.query.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&');
  const headers: Record<string, string> = {};
  if (spec.auth === 'admin') headers.authorization = `Bearer ${node.adminToken}`;
  if (spec.auth === 'junk') headers.authorization = 'Bearer kh_not-a-real-token';
  let body: Buffer | undefined;
  const kind = op.body || spec.bodyKind !== 'valid' ? spec.bodyKind : 'none';
  switch (kind) {
    case 'valid':
      body = Buffer.from(JSON.stringify(validBody(op, spec.valid)));
      break;
    case 'mutated':
      body = Buffer.from(JSON.stringify(mutateTree(validBody(op, spec.valid), spec.mutations)));
      break;
    case 'huge':
      body = Buffer.from(JSON.stringify({ ...(validBody(op, spec.valid) as object), name: 'x'.repeat(spec.hugeSize) }));
      break;
    case 'deep': {
      const open = spec.valid % 2 === 0 ? '[' : '{"a":';
      const close = spec.valid % 2 === 0 ? ']' : '}';
      body = Buffer.from(`${open.repeat(spec.depth)}1${close.repeat(spec.depth)}`);
      break;
    }
    case 'malformed':
      body = Buffer.from(spec.malformed);
      break;
    case 'notObject':
      body = Buffer.from(JSON.stringify(spec.mutations.map((m) => m.t)));
      break;
    case 'none':
      break;
  }
  if (body !== undefined && spec.contentType !== undefined) headers['content-type'] = spec.contentType;
  // Hostile values reach the server as bytes a client can send: anything outside printable ASCII percent-encoded.
  const target = `${path}${query ? `?${query}` : ''}`.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  return { method: op.method, path: target, headers, body, op };
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** Every table that only a successful call changes, as text (statements prepared once: migrations ran at start). */
let dumpStatements: { name: string; statement: Database.Statement }[] | undefined;
function dump(): string {
  dumpStatements ??= db
    .prepare<[], { name: string }>("select name from sqlite_master where type = 'table' order by name")
    .all()
    .map((t) => t.name)
    .filter((name) => !VOLATILE_TABLE.test(name))
    .map((name) => ({ name, statement: db.prepare(`select ${COLUMNS[name] ?? '*'} from "${name}" order by 1`).raw() }));
  return dumpStatements.map(({ name, statement }) => `${name}: ${JSON.stringify(statement.all())}`).join('\n');
}

function describeExchange(request: ReturnType<typeof buildRequest>, response: RawResponse | undefined, why: string): string {
  const body = request.body?.subarray(0, 300).toString('latin1') ?? '(none)';
  return [
    why,
    `${request.method} ${request.path.slice(0, 300)} ${JSON.stringify({ ...request.headers, authorization: request.headers.authorization ? '…' : undefined })}`,
    `body (${request.body?.length ?? 0} bytes) ${JSON.stringify(body)}`,
    response ? `→ ${response.status} ${response.text.slice(0, 400)}` : '',
  ].join('\n  ');
}

function check(request: ReturnType<typeof buildRequest>, response: RawResponse): void {
  stats.total += 1;
  stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
  const fail = (why: string): never => {
    throw new assert.AssertionError({ message: describeExchange(request, response, why) });
  };
  if (response.status >= 500) fail(`status ${response.status}`);
  if (response.status < 200 || response.status >= 500) fail(`status ${response.status}`);
  if (response.status >= 400) {
    const json = response.json;
    if (typeof json !== 'object' || json === null || !('error' in json) || typeof json.error !== 'string') fail('4xx without {"error": …}');
    const error = (json as { error: string }).error;
    if (error === '' || /\n/.test(error)) fail('the error is not one line');
    if (error.includes(node.adminToken)) fail('the token is echoed');
  }
}

async function runBatch(specs: Spec[]): Promise<void> {
  const requests = specs.map(buildRequest);
  const before = dump();
  const responses = await Promise.all(
    requests.map((request) =>
      sendHttps(node, agent, {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body,
        timeoutMs: 30_000,
      }).catch((error: unknown) => {
        throw new assert.AssertionError({ message: describeExchange(request, undefined, `transport failure: ${String(error)}`) });
      }),
    ),
  );
  requests.forEach((request, i) => check(request, responses[i]!));
  // GETs change nothing; when every other call of the batch was refused, the database must be as it was.
  if (responses.every((r, i) => r.status >= 400 || requests[i]!.method === 'GET')) {
    stats.refusedBatches += 1;
    const afterDump = dump();
    if (afterDump !== before) {
      const changed = afterDump.split('\n').filter((line) => !before.split('\n').includes(line));
      assert.fail(
        `a batch of refused calls (and GETs) changed the database:\n${changed.join('\n').slice(0, 1500)}\n${requests.map((r, i) => describeExchange(r, responses[i], '')).join('\n')}`.slice(
          0,
          6000,
        ),
      );
    }
    stats.unchangedChecks += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

before(async () => {
  // The audit log commits without an fsync each (`normal`): the fuzzer measures answers, not the disk.
  node = await startTestNode({ audit: { sync: 'normal' } });
  agent = keepAliveAgent(node, 16);
  const document = await sendHttps(node, agent, {
    method: 'GET',
    path: '/api/v1/openapi.json',
    headers: { authorization: `Bearer ${node.adminToken}` },
  });
  const paths = (
    document.json as {
      paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
    }
  ).paths;
  operations = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      parameters: operation.parameters ?? [],
      body: operation.requestBody?.content?.['application/json']?.schema,
    })),
  );
  operations = operations.filter((op) => !EXCLUDED.has(`${op.method} ${op.path}`));
  db = new Database(join(node.dataDir, 'keyhold.db'), { readonly: true, fileMustExist: true });
});

after(async () => {
  db.close();
  agent.destroy();
  await node.close();
});

describe(`admin API fuzzing from the OpenAPI document (seed ${SEED})`, { timeout: TIMEOUT }, () => {
  it('every route, valid and mutated bodies, path and query values, huge and deep JSON, wrong content types: 2xx or 4xx with an error body, never 5xx; refusals change nothing', async (t) => {
    assert.ok(operations.length >= 60, `only ${operations.length} operations in the document`);
    t.diagnostic(`seed ${SEED}: ${RUNS} batches × ${BATCH} requests in flight over ${operations.length} operations`);
    const result = await fc.check(
      fc.asyncProperty(fc.array(requestSpec, { minLength: BATCH, maxLength: BATCH }), (batch) => runBatch(batch)),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // The failing exchange, not fast-check's dump of 32 generated specs: reproduce with FUZZ_SEED and the path.
    if (result.failed) {
      const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      assert.fail(`seed ${SEED}, path ${result.counterexamplePath ?? ''}: ${error}`);
    }
    const statuses = [...stats.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`);
    t.diagnostic(
      `${stats.total} requests; ${statuses.join(', ')}; ${stats.unchangedChecks} all-refused batches left the database unchanged`,
    );
    assert.ok(stats.total >= MIN_REQUESTS, `only ${stats.total} requests`);
    // Not degenerate: successes, refusals of every common kind, and database comparisons all happened.
    for (const status of [200, 201, 400, 401, 404, 413, 415]) assert.ok((stats.byStatus.get(status) ?? 0) > 0, `never answered ${status}`);
    assert.ok(stats.unchangedChecks >= RUNS / 10, `only ${stats.unchangedChecks} database comparisons`);
  });

  it('afterwards the node still answers (GET /node 200) and logged no 5xx', async () => {
    const response = await sendHttps(node, agent, {
      method: 'GET',
      path: '/api/v1/node',
      headers: { authorization: `Bearer ${node.adminToken}` },
    });
    assert.equal(response.status, 200, response.text);
    const serverErrors = node.logs.filter(
      (line) => typeof line.res === 'object' && Number((line.res as { statusCode?: number }).statusCode) >= 500,
    );
    assert.deepEqual(serverErrors.slice(0, 3), []);
  });
});
