/**
 * Keys: server-side search, filter and pagination (GET /keys?search=&status=&keystore=&limit=&cursor=,
 * answered as { keys, nextCursor }), and every lifecycle action. A node whose /keys still answers with
 * the whole list (an array) is paged in the browser instead, and the page says so.
 */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { KeyImport } from './key-import';
import { ErrorLine, Field, Guarded, Outcome, Page, describeGated, useAction, useLoad, useSubmit } from '../ui';

const PAGE_SIZE = 50;

interface KeyView {
  id: string;
  keystore?: string;
  group: string;
  usage: string[];
  status: string;
  blockReason?: string;
  deletionDate?: string;
  currentVersion: number;
  minDecryptVersion: number;
  rotationPeriodDays?: number;
  nextRotationAt?: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
}
interface KeyVersionView {
  version: number;
  state: string;
  origin: string;
  current: boolean;
  decrypts: boolean;
  createdAt: string;
}
/** GET /api/v1/keys: one page, in (keystore, key id) order (docs/access.md#keys-search). */
interface KeyPage {
  keys: KeyView[];
  nextCursor: string | null;
  total?: number;
}
interface Filters {
  search: string;
  status: string;
  keystore: string;
}

function loadPage(filters: Filters, cursor: string | undefined): Promise<KeyPage> {
  return api.get<KeyPage>(`/keys${query({ ...filters, limit: PAGE_SIZE, cursor })}`);
}

const keyPath = (key: KeyView, action = '') =>
  `/keys/${encodeURIComponent(key.id)}${action ? `/${action}` : ''}${query({ keystore: key.keystore?.split(',')[0] })}`;

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const [id, setId] = useState('');
  const [keystore, setKeystore] = useState('');
  const [description, setDescription] = useState('');
  const [submission, submit] = useSubmit(async () => {
    const created = await api.post<KeyView>('/keys', { id, keystore, description: description || undefined });
    onCreated();
    setId('');
    setDescription('');
    return `Key ${created.id} created (version ${created.currentVersion}).`;
  });
  return (
    <section class="card" aria-labelledby="create-key">
      <h2 id="create-key">Create a key</h2>
      <form onSubmit={submit}>
        <Field label="Key id" name="id" value={id} onInput={setId} submission={submission} required />
        <Field label="Keystore" name="keystore" value={keystore} onInput={setKeystore} submission={submission} required />
        <Field label="Description (optional)" name="description" value={description} onInput={setDescription} submission={submission} />
        <Guarded permission="keys:create" type="submit" busy={submission.busy}>
          Create key
        </Guarded>
        <Outcome submission={submission} shownFields={['id', 'keystore', 'description']} />
      </form>
    </section>
  );
}

function KeyDetail({ keyView, onChanged }: { keyView: KeyView; onChanged: () => void }) {
  const versions = useLoad(() => api.get<KeyVersionView[]>(keyPath(keyView, 'versions')), [keyView.id, keyView.currentVersion]);
  const [outcome, run] = useAction();
  const [reason, setReason] = useState('');
  const [days, setDays] = useState('30');
  const [rotation, setRotation] = useState(keyView.rotationPeriodDays ? String(keyView.rotationPeriodDays) : '');
  const [description, setDescription] = useState(keyView.description);
  const [tagKey, setTagKey] = useState('');
  const [tagValue, setTagValue] = useState('');
  const act = (done: string, call: () => Promise<unknown>) => () =>
    run(async () => {
      const result = await call();
      onChanged();
      versions.reload();
      return describeGated(result, done);
    });
  const onSubmit = (handler: () => void) => (event: Event) => {
    event.preventDefault();
    handler();
  };
  return (
    <section class="card" aria-labelledby="key-detail">
      <h2 id="key-detail">Key {keyView.id}</h2>
      <dl>
        <dt>Status</dt>
        <dd>
          {keyView.status}
          {keyView.blockReason && ` (${keyView.blockReason})`}
          {keyView.deletionDate && ` — deletion on ${keyView.deletionDate}`}
        </dd>
        <dt>Keystore / group</dt>
        <dd>
          {keyView.keystore ?? '—'} / {keyView.group}
        </dd>
        <dt>Usage</dt>
        <dd>{keyView.usage.join(', ')}</dd>
        <dt>Current version</dt>
        <dd>
          {keyView.currentVersion} (decrypts from {keyView.minDecryptVersion})
        </dd>
        <dt>Rotation</dt>
        <dd>{keyView.rotationPeriodDays ? `every ${keyView.rotationPeriodDays} days, next ${keyView.nextRotationAt ?? '?'}` : 'manual'}</dd>
        <dt>Tags</dt>
        <dd>
          {Object.entries(keyView.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '—'}
        </dd>
      </dl>
      <div class="actions">
        <Guarded permission="keys:manage" onClick={act('Enabled.', () => api.post(keyPath(keyView, 'enable')))}>
          Enable
        </Guarded>
        <Guarded permission="keys:manage" onClick={act('Disabled.', () => api.post(keyPath(keyView, 'disable')))}>
          Disable
        </Guarded>
        <Guarded permission="keys:manage" onClick={act('Unblocked.', () => api.post(keyPath(keyView, 'unblock')))}>
          Unblock
        </Guarded>
        <Guarded permission="keys:manage" onClick={act('Rotated: a new version is current.', () => api.post(keyPath(keyView, 'rotate')))}>
          Rotate now
        </Guarded>
        <Guarded permission="keys:destroy" onClick={act('Deletion cancelled.', () => api.post(keyPath(keyView, 'cancel-deletion')))}>
          Cancel deletion
        </Guarded>
      </div>
      <Outcome submission={outcome} />
      <form onSubmit={onSubmit(act('Blocked.', () => api.post(keyPath(keyView, 'block'), { reason })))}>
        <Field label="Block reason" name="reason" value={reason} onInput={setReason} />
        <Guarded permission="keys:manage" type="submit">
          Block
        </Guarded>
      </form>
      <form onSubmit={onSubmit(act('Deletion scheduled.', () => api.post(keyPath(keyView, 'schedule-deletion'), { days: Number(days) })))}>
        <Field label="Days before deletion" name="days" type="number" value={days} onInput={setDays} />
        <Guarded permission="keys:destroy" type="submit" class="danger">
          Schedule deletion
        </Guarded>
      </form>
      <form
        onSubmit={onSubmit(
          act('Rotation policy saved.', () =>
            api.put(keyPath(keyView, 'rotation-policy'), { days: rotation === '' ? null : Number(rotation) }),
          ),
        )}
      >
        <Field label="Rotate every N days (empty: manual)" name="days-rotation" type="number" value={rotation} onInput={setRotation} />
        <Guarded permission="keys:manage" type="submit">
          Save rotation policy
        </Guarded>
      </form>
      <form onSubmit={onSubmit(act('Description saved.', () => api.put(keyPath(keyView, 'description'), { description })))}>
        <Field label="Description" name="description" value={description} onInput={setDescription} />
        <Guarded permission="keys:manage" type="submit">
          Save description
        </Guarded>
      </form>
      <form onSubmit={onSubmit(act('Tag set.', () => api.patch(keyPath(keyView, 'tags'), { set: { [tagKey]: tagValue } })))}>
        <Field label="Tag name" name="tag" value={tagKey} onInput={setTagKey} />
        <Field label="Tag value" name="tag-value" value={tagValue} onInput={setTagValue} />
        <Guarded permission="keys:manage" type="submit">
          Set tag
        </Guarded>
        <Guarded permission="keys:manage" onClick={act('Tag removed.', () => api.patch(keyPath(keyView, 'tags'), { remove: [tagKey] }))}>
          Remove tag
        </Guarded>
      </form>
      <h3>Versions</h3>
      <ErrorLine error={versions.error} />
      {versions.data && (
        <table>
          <caption>Versions of {keyView.id}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Origin</th>
              <th scope="col">Decrypts</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {versions.data.map((version) => (
              <tr key={version.version}>
                <td>
                  {version.version}
                  {version.current && ' (current)'}
                </td>
                <td>{version.state}</td>
                <td>{version.origin}</td>
                <td>{version.decrypts ? 'yes' : 'no'}</td>
                <td>{version.createdAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Keys() {
  const [form, setForm] = useState<Filters>({ search: '', status: '', keystore: '' });
  const [filters, setFilters] = useState<Filters>(form);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => loadPage(filters, cursor), [filters, cursor]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const chosen = page.data?.keys.find((key) => key.id === selected);
  return (
    <Page title="Keys">
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([undefined]);
          setFilters(form);
        }}
      >
        <Field label="Search (id or description)" name="search" value={form.search} onInput={(search) => setForm({ ...form, search })} />
        <div class="field">
          <label for="key-status">Status</label>
          <select id="key-status" value={form.status} onChange={(e) => setForm({ ...form, status: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="ENABLED">ENABLED</option>
            <option value="DISABLED">DISABLED</option>
            <option value="BLOCKED">BLOCKED</option>
            <option value="PENDING_DELETION">PENDING_DELETION</option>
          </select>
        </div>
        <Field label="Keystore" name="keystore" value={form.keystore} onInput={(keystore) => setForm({ ...form, keystore })} />
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={page.error} />
      {page.data && (
        <table>
          <caption>
            Keys, page {cursors.length} ({page.data.keys.length} shown)
          </caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Status</th>
              <th scope="col">Keystore</th>
              <th scope="col">Version</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {page.data.keys.map((key) => (
              <tr key={`${key.group}/${key.id}`}>
                <td>
                  <button type="button" class="link" aria-pressed={key.id === selected} onClick={() => setSelected(key.id)}>
                    {key.id}
                  </button>
                </td>
                <td>{key.status}</td>
                <td>{key.keystore ?? '—'}</td>
                <td>{key.currentVersion}</td>
                <td>{key.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="actions">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
        >
          Next page
        </button>
      </div>
      {chosen && <KeyDetail key={chosen.id} keyView={chosen} onChanged={page.reload} />}
      <CreateKey onCreated={page.reload} />
      <KeyImport onImported={page.reload} />
    </Page>
  );
}
