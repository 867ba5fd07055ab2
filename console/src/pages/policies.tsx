/**
 * Policies: a JSON editor whose save shows the server's validation error at the field it names (the
 * path the message starts with, found in the text), attach/detach, and the simulator.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, fieldOf } from '../api';
import { ErrorLine, Field, Guarded, Outcome, Page, describeGated, messageOf, useAction, useLoad, useSubmit } from '../ui';

interface PolicySummary {
  name: string;
  description?: string;
  mode?: string;
  attach?: Record<string, string>;
  rules?: unknown[];
}
interface SimulationResult {
  allowed: boolean;
  decidedBy: string;
  policy?: string;
  wouldDeny?: boolean;
  wouldDenyBy?: string;
}

const TEMPLATE = `{
  "name": "example",
  "description": "Only the KMS service principal may encrypt",
  "mode": "enforce",
  "rules": [
    { "id": "allow-kms", "effect": "allow", "kmsOperation": ["Encrypt", "Decrypt", "GenerateDataKey*"] },
    { "id": "deny-rest", "effect": "deny" }
  ]
}`;

/** The 1-based line of the text where the field path (`rules[1].effect`) is written, if it can be found. */
export function lineOfField(text: string, field: string): number | undefined {
  let at = 0;
  for (const part of field.split(/\.|(?=\[)/)) {
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) {
      // Skip to the n-th element of the array that starts after `at`.
      let depth = 0;
      let seen = 0;
      const want = Number(index[1]);
      const open = text.indexOf('[', at);
      if (open === -1) return undefined;
      let i = open + 1;
      for (; i < text.length && seen < want; i++) {
        const c = text[i];
        if (c === '[' || c === '{') depth++;
        else if (c === ']' || c === '}') depth--;
        else if (c === ',' && depth === 0) seen++;
      }
      at = i;
    } else {
      const found = text.indexOf(`"${part}"`, at);
      if (found === -1) return undefined;
      at = found;
    }
  }
  return text.slice(0, at).split('\n').length;
}

function Editor({ onSaved, initial, existing }: { onSaved: () => void; initial: string; existing: string | undefined }) {
  const [text, setText] = useState(initial);
  const [problem, setProblem] = useState<{ message: string; field?: string; line?: number } | undefined>(undefined);
  const [outcome, run] = useAction();
  const save = (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    run(async () => {
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (failure) {
        setProblem({ message: `Not JSON: ${messageOf(failure)}` });
        return undefined;
      }
      try {
        const answer = existing
          ? await api.put(`/policies/${encodeURIComponent(existing)}`, document)
          : await api.post('/policies', document);
        onSaved();
        return describeGated(answer, 'Policy saved.');
      } catch (failure) {
        if (failure instanceof ApiError && failure.status === 400) {
          const field = fieldOf(failure.message);
          setProblem({ message: failure.message, field, line: field ? lineOfField(text, field) : undefined });
          return undefined;
        }
        throw failure;
      }
    });
  };
  return (
    <form onSubmit={save}>
      <div class="field">
        <label for="policy-document">Policy document (JSON)</label>
        <textarea
          id="policy-document"
          value={text}
          spellcheck={false}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={problem ? 'policy-problem' : undefined}
          onInput={(event) => setText(event.currentTarget.value)}
        />
        {problem && (
          <p class="field-error" id="policy-problem" role="alert" data-field={problem.field}>
            {problem.field && (
              <>
                At <code>{problem.field}</code>
                {problem.line !== undefined && ` (line ${problem.line})`}:{' '}
              </>
            )}
            {problem.message}
          </p>
        )}
      </div>
      <Guarded permission="policies:write" type="submit" busy={outcome.busy}>
        {existing ? `Save ${existing}` : 'Create policy'}
      </Guarded>
      <Outcome submission={outcome} />
    </form>
  );
}

function AttachForm({ name, onChanged }: { name: string; onChanged: () => void }) {
  const [group, setGroup] = useState('');
  const [keystore, setKeystore] = useState('');
  const [key, setKey] = useState('');
  const [submission, submit] = useSubmit(async () => {
    const target = key ? { key, keystore } : keystore ? { keystore } : { group };
    const answer = await api.post(`/policies/${encodeURIComponent(name)}/attach`, target);
    onChanged();
    return describeGated(answer, `Attached ${name}.`);
  });
  const [detached, detach] = useAction();
  return (
    <form onSubmit={submit}>
      <h3>Attach {name}</h3>
      <Field label="Group" name="group" aliases={['attach.group']} value={group} onInput={setGroup} submission={submission} />
      <Field
        label="Keystore"
        name="keystore"
        aliases={['attach.keystore']}
        value={keystore}
        onInput={setKeystore}
        submission={submission}
      />
      <Field label="Key id (with its keystore)" name="key" aliases={['attach.key']} value={key} onInput={setKey} submission={submission} />
      <Guarded permission="policies:write" type="submit">
        Attach
      </Guarded>
      <Guarded
        permission="policies:write"
        onClick={() =>
          detach(async () => {
            const answer = await api.post(`/policies/${encodeURIComponent(name)}/detach`);
            onChanged();
            return describeGated(answer, `Detached ${name}.`);
          })
        }
      >
        Detach
      </Guarded>
      <Outcome submission={submission} shownFields={['group', 'keystore', 'key', 'attach.group', 'attach.keystore', 'attach.key']} />
      <Outcome submission={detached} />
    </form>
  );
}

function Simulator() {
  const [keystore, setKeystore] = useState('');
  const [keyId, setKeyId] = useState('');
  const [operation, setOperation] = useState('Encrypt');
  const [principal, setPrincipal] = useState('');
  const [kmsOperation, setKmsOperation] = useState('');
  const [viaService, setViaService] = useState('');
  const [result, setResult] = useState<SimulationResult | undefined>(undefined);
  const [submission, submit] = useSubmit(async () => {
    setResult(undefined);
    const requestMetadata: Record<string, string> = {};
    if (principal) requestMetadata.awsPrincipalArn = principal;
    if (kmsOperation) requestMetadata.kmsOperation = kmsOperation;
    if (viaService) requestMetadata.kmsViaService = viaService;
    setResult(await api.post<SimulationResult>('/policies/simulate', { keystore, keyId, operation, requestMetadata }));
    return undefined;
  });
  return (
    <section class="card" aria-labelledby="simulator-title">
      <h2 id="simulator-title">Simulator</h2>
      <form onSubmit={submit}>
        <Field label="Keystore" name="keystore" value={keystore} onInput={setKeystore} submission={submission} required />
        <Field label="Key id" name="keyId" value={keyId} onInput={setKeyId} submission={submission} required />
        <div class="field">
          <label for="sim-operation">Operation</label>
          <select id="sim-operation" value={operation} onChange={(e) => setOperation(e.currentTarget.value)}>
            <option>Encrypt</option>
            <option>Decrypt</option>
            <option>GetKeyMetadata</option>
          </select>
        </div>
        <Field
          label="Principal ARN"
          name="awsPrincipalArn"
          aliases={['requestMetadata.awsPrincipalArn']}
          value={principal}
          onInput={setPrincipal}
          submission={submission}
        />
        <Field
          label="KMS operation (optional)"
          name="kmsOperation"
          aliases={['requestMetadata.kmsOperation']}
          value={kmsOperation}
          onInput={setKmsOperation}
          submission={submission}
        />
        <Field
          label="Via service (optional)"
          name="kmsViaService"
          aliases={['requestMetadata.kmsViaService']}
          value={viaService}
          onInput={setViaService}
          submission={submission}
        />
        <Guarded permission="policies:simulate" type="submit" busy={submission.busy}>
          Simulate
        </Guarded>
        <Outcome
          submission={submission}
          shownFields={[
            'keystore',
            'keyId',
            'requestMetadata.awsPrincipalArn',
            'requestMetadata.kmsOperation',
            'requestMetadata.kmsViaService',
          ]}
        />
      </form>
      {result && (
        <p role="status" class={result.allowed ? 'done' : 'error'} data-simulation>
          {result.allowed ? 'Allowed' : 'Denied'} by <code>{result.decidedBy}</code>
          {result.wouldDeny && ` (audit-only: ${result.wouldDenyBy ?? '?'} would deny)`}
        </p>
      )}
    </section>
  );
}

export function Policies() {
  const list = useLoad(() => api.get<PolicySummary[]>('/policies'), []);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const policy = useLoad(
    () => (selected ? api.get<PolicySummary>(`/policies/${encodeURIComponent(selected)}`) : Promise.resolve(undefined)),
    [selected],
  );
  return (
    <Page title="Policies">
      <ErrorLine error={list.error} />
      {list.data && (
        <table>
          <caption>Policies</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Mode</th>
              <th scope="col">Attached to</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((item) => (
              <tr key={item.name}>
                <td>
                  <button type="button" class="link" aria-pressed={item.name === selected} onClick={() => setSelected(item.name)}>
                    {item.name}
                  </button>
                </td>
                <td>{item.mode ?? 'enforce'}</td>
                <td>{item.attach ? JSON.stringify(item.attach) : '—'}</td>
                <td>{item.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <section class="card" aria-labelledby="editor-title">
        <h2 id="editor-title">{selected ? `Edit ${selected}` : 'New policy'}</h2>
        {selected && (
          <button type="button" onClick={() => setSelected(undefined)}>
            New policy instead
          </button>
        )}
        {selected === undefined ? (
          <Editor key="new" initial={TEMPLATE} existing={undefined} onSaved={list.reload} />
        ) : (
          policy.data && <Editor key={selected} initial={JSON.stringify(policy.data, null, 2)} existing={selected} onSaved={list.reload} />
        )}
        {selected && <AttachForm name={selected} onChanged={list.reload} />}
      </section>
      <Simulator />
    </Page>
  );
}
