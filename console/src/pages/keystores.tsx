/** Keystores: list, create, enable/disable/block, SigV4 credentials (secret shown once), KMS JSON, quotas. */
import { useState } from 'preact/hooks';
import { api, download } from '../api';
import { ErrorLine, Field, Guarded, Outcome, Page, SecretOnce, describeGated, useAction, useLoad, useSubmit } from '../ui';

interface KeystoreView {
  name: string;
  prefix: string;
  uriPath: string;
  region: string;
  group: string;
  status: string;
  blockReason?: string;
  quota?: { rps: number; burst: number };
  createdAt: string;
  credentials: { accessKeyId: string; createdAt: string }[];
}
interface NewCredential {
  accessKeyId: string;
  secret: string;
}

const path = (name: string) => `/keystores/${encodeURIComponent(name)}`;

function CreateKeystore({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [prefix, setPrefix] = useState('');
  const [region, setRegion] = useState('');
  const [group, setGroup] = useState('');
  const [secret, setSecret] = useState<NewCredential | undefined>(undefined);
  const [submission, submit] = useSubmit(async () => {
    const created = await api.post<{ keystore: KeystoreView; credential: NewCredential }>('/keystores', {
      name,
      prefix,
      region: region || undefined,
      group: group || undefined,
    });
    setSecret(created.credential);
    onCreated();
    setName('');
    setPrefix('');
    return `Keystore ${created.keystore.name} created; its XksProxyUriPath is ${created.keystore.uriPath}.`;
  });
  return (
    <section class="card" aria-labelledby="create-keystore">
      <h2 id="create-keystore">Create a keystore</h2>
      <form onSubmit={submit}>
        <Field label="Name" name="name" value={name} onInput={setName} submission={submission} required />
        <Field
          label="Path prefix"
          name="prefix"
          value={prefix}
          onInput={setPrefix}
          submission={submission}
          placeholder="/my-xks"
          required
        />
        <Field label="Region (optional)" name="region" value={region} onInput={setRegion} submission={submission} />
        <Field label="Group (optional)" name="group" value={group} onInput={setGroup} submission={submission} />
        <Guarded permission="keystores:write" type="submit" busy={submission.busy}>
          Create keystore
        </Guarded>
        <Outcome submission={submission} shownFields={['name', 'prefix', 'region', 'group']} />
      </form>
      {secret && <SecretOnce label={`Secret of access key ${secret.accessKeyId}`} value={secret.secret} />}
    </section>
  );
}

function KeystoreDetail({ keystore, onChanged }: { keystore: KeystoreView; onChanged: () => void }) {
  const [reason, setReason] = useState('');
  const [rps, setRps] = useState(keystore.quota ? String(keystore.quota.rps) : '');
  const [burst, setBurst] = useState(keystore.quota ? String(keystore.quota.burst) : '');
  const [secret, setSecret] = useState<NewCredential | undefined>(undefined);
  const act = (label: string, run: () => Promise<unknown>) => async () => {
    const result = await run();
    onChanged();
    return describeGated(result, label);
  };
  const [action, runAction] = useAction();
  const [quota, submitQuota] = useSubmit(async () => {
    const body = { rps: Number(rps), burst: burst === '' ? undefined : Number(burst) };
    await api.put(`${path(keystore.name)}/quota`, body);
    onChanged();
    return 'Quota set.';
  });
  return (
    <section class="card" aria-labelledby={`ks-${keystore.name}`}>
      <h2 id={`ks-${keystore.name}`}>Keystore {keystore.name}</h2>
      <dl>
        <dt>XksProxyUriPath</dt>
        <dd>
          <code>{keystore.uriPath}</code>
        </dd>
        <dt>Region / group</dt>
        <dd>
          {keystore.region} / {keystore.group}
        </dd>
        <dt>Status</dt>
        <dd>
          {keystore.status}
          {keystore.blockReason && ` (${keystore.blockReason})`}
        </dd>
      </dl>
      <div class="actions">
        <Guarded permission="keystores:write" onClick={() => runAction(act('Enabled.', () => api.post(`${path(keystore.name)}/enable`)))}>
          Enable
        </Guarded>
        <Guarded permission="keystores:write" onClick={() => runAction(act('Disabled.', () => api.post(`${path(keystore.name)}/disable`)))}>
          Disable
        </Guarded>
        <Guarded
          permission="keystores:write"
          onClick={() => runAction(act('Unblocked.', () => api.post(`${path(keystore.name)}/unblock`)))}
        >
          Unblock
        </Guarded>
        <Guarded
          permission="credentials:manage"
          onClick={() =>
            runAction(async () => {
              const answer = await api.get<unknown>(`${path(keystore.name)}/kms-json`);
              if (typeof answer === 'object' && answer !== null && 'approval' in answer) return describeGated(answer, '');
              download(`${keystore.name}-kms-xks-proxy.json`, JSON.stringify(answer, null, 2));
              return 'KMS console JSON downloaded (it holds a secret: keep it safe).';
            })
          }
        >
          Download KMS console JSON
        </Guarded>
      </div>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          runAction(act('Blocked.', () => api.post(`${path(keystore.name)}/block`, { reason })));
        }}
      >
        <Field label="Block reason" name="reason" value={reason} onInput={setReason} />
        <Guarded permission="keystores:write" type="submit">
          Block
        </Guarded>
      </form>
      <Outcome submission={action} />
      <h3>Credentials</h3>
      <ul>
        {keystore.credentials.map((credential) => (
          <li key={credential.accessKeyId}>
            <code>{credential.accessKeyId}</code> (since {credential.createdAt}){' '}
            <Guarded
              permission="credentials:manage"
              onClick={() =>
                runAction(
                  act(`Credential ${credential.accessKeyId} removed.`, () =>
                    api.del(`${path(keystore.name)}/credentials/${encodeURIComponent(credential.accessKeyId)}`),
                  ),
                )
              }
            >
              Remove {credential.accessKeyId}
            </Guarded>
          </li>
        ))}
      </ul>
      <Guarded
        permission="credentials:manage"
        onClick={() =>
          runAction(async () => {
            const answer = await api.post<NewCredential | { approval: unknown }>(`${path(keystore.name)}/credentials`, {});
            onChanged();
            if ('secret' in answer) {
              setSecret(answer);
              return `Credential ${answer.accessKeyId} added.`;
            }
            return describeGated(answer, '');
          })
        }
      >
        Add a credential
      </Guarded>
      {secret && <SecretOnce label={`Secret of access key ${secret.accessKeyId}`} value={secret.secret} />}
      <h3>Quota</h3>
      <form onSubmit={submitQuota}>
        <Field label="Requests per second" name="rps" value={rps} onInput={setRps} submission={quota} type="number" />
        <Field label="Burst (optional)" name="burst" value={burst} onInput={setBurst} submission={quota} type="number" />
        <Guarded permission="keystores:write" type="submit" busy={quota.busy}>
          Set quota
        </Guarded>
        <Guarded
          permission="keystores:write"
          onClick={() => runAction(act('Quota removed.', () => api.del(`${path(keystore.name)}/quota`)))}
        >
          Remove quota
        </Guarded>
        <Outcome submission={quota} shownFields={['rps', 'burst']} />
      </form>
    </section>
  );
}

export function Keystores() {
  const list = useLoad(() => api.get<KeystoreView[]>('/keystores'), []);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const chosen = list.data?.find((keystore) => keystore.name === selected);
  return (
    <Page title="Keystores">
      <ErrorLine error={list.error} />
      {list.data && (
        <table>
          <caption>Keystores on this node</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">XksProxyUriPath</th>
              <th scope="col">Region</th>
              <th scope="col">Group</th>
              <th scope="col">Status</th>
              <th scope="col">Credentials</th>
              <th scope="col">Quota</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((keystore) => (
              <tr key={keystore.name}>
                <td>
                  <button type="button" class="link" aria-pressed={keystore.name === selected} onClick={() => setSelected(keystore.name)}>
                    {keystore.name}
                  </button>
                </td>
                <td>
                  <code>{keystore.uriPath}</code>
                </td>
                <td>{keystore.region}</td>
                <td>{keystore.group}</td>
                <td>{keystore.status}</td>
                <td>{keystore.credentials.length}</td>
                <td>{keystore.quota ? `${keystore.quota.rps}/s` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {chosen && <KeystoreDetail key={chosen.name} keystore={chosen} onChanged={list.reload} />}
      <CreateKeystore onCreated={list.reload} />
    </Page>
  );
}
