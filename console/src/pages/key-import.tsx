/**
 * Bring your own key (docs/rotation.md): download a one-time RSA wrapping key, wrap your 32-byte key with
 * it outside the browser (RSA-OAEP with SHA-256), and upload the wrapped bytes as a new key or as a new
 * version of an existing one. The browser only ever holds the wrapped key.
 */
import { useState } from 'preact/hooks';
import { api, download, query } from '../api';
import { Field, Guarded, Outcome, describeGated, useAction, useSubmit } from '../ui';

interface WrappingKeyView {
  wrappingKeyId: string;
  algorithm: string;
  publicKeyPem: string;
  expiresAt: string;
}

/** The file's bytes as base64 (what the API takes as `wrappedKey`). */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const opensslCommand = (id: string) =>
  `openssl pkeyutl -encrypt -pubin -inkey wrapping-${id}.pem -in key.bin -out wrapped.bin \\\n` +
  '  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256';

export function KeyImport({ onImported }: { onImported: () => void }) {
  const [wrapping, setWrapping] = useState<WrappingKeyView | undefined>(undefined);
  const [fetched, fetchWrapping] = useAction();
  const [id, setId] = useState('');
  const [keystore, setKeystore] = useState('');
  const [wrappingKeyId, setWrappingKeyId] = useState('');
  const [file, setFile] = useState<File | undefined>(undefined);
  const [asVersion, setAsVersion] = useState(false);
  const [submission, submit] = useSubmit(async () => {
    if (!file) throw new Error('Choose the file with the wrapped key.');
    const wrappedKey = await base64Of(file);
    if (asVersion) {
      const answer = await api.post(`/keys/${encodeURIComponent(id)}/import${query({ keystore })}`, { wrappingKeyId, wrappedKey });
      onImported();
      return describeGated(answer, `A new version of ${id} was imported.`);
    }
    const answer = await api.post<{ id?: string }>('/keys/import', { id, keystore, wrappingKeyId, wrappedKey });
    onImported();
    return describeGated(answer, `Key ${id} imported.`);
  });
  return (
    <section class="card" aria-labelledby="byok-title">
      <h2 id="byok-title">Bring your own key</h2>
      <ol>
        <li>
          <Guarded
            permission="keys:manage"
            onClick={() =>
              fetchWrapping(async () => {
                const created = await api.post<WrappingKeyView>('/keys/import-wrapping-keys');
                setWrapping(created);
                setWrappingKeyId(created.wrappingKeyId);
                download(`wrapping-${created.wrappingKeyId}.pem`, created.publicKeyPem, 'application/x-pem-file');
                return `Wrapping key ${created.wrappingKeyId} downloaded; valid until ${created.expiresAt}, for one import.`;
              })
            }
          >
            Download a wrapping key
          </Guarded>
          <Outcome submission={fetched} />
        </li>
        <li>
          Wrap your 32-byte key with it ({wrapping?.algorithm ?? 'RSA-OAEP with SHA-256'}), outside the browser:
          <pre tabIndex={0}>{opensslCommand(wrapping?.wrappingKeyId ?? 'ID')}</pre>
        </li>
        <li>
          <form onSubmit={submit}>
            <Field label="Key id" name="id" value={id} onInput={setId} submission={submission} required />
            <Field label="Keystore" name="keystore" value={keystore} onInput={setKeystore} submission={submission} required />
            <Field
              label="Wrapping key id"
              name="wrappingKeyId"
              value={wrappingKeyId}
              onInput={setWrappingKeyId}
              submission={submission}
              required
            />
            <div class="field">
              <label for="byok-file">Wrapped key file</label>
              <input id="byok-file" type="file" onChange={(event) => setFile(event.currentTarget.files?.[0])} />
            </div>
            <div class="field">
              <label>
                <input type="checkbox" checked={asVersion} onChange={(event) => setAsVersion(event.currentTarget.checked)} /> As a new
                version of an existing key
              </label>
            </div>
            <Guarded permission={asVersion ? 'keys:manage' : 'keys:create'} type="submit" busy={submission.busy}>
              Import
            </Guarded>
            <Outcome submission={submission} shownFields={['id', 'keystore', 'wrappingKeyId']} />
          </form>
        </li>
      </ol>
    </section>
  );
}
