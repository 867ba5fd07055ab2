/** Unseal: each key custodian enters one Shamir share; the page shows how many are in. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Field, Guarded, Outcome, Page, useLoad, useSubmit } from '../ui';

interface UnsealStatus {
  sealed: boolean;
  rootOfTrust: string;
  threshold?: number;
  shares?: number;
  entered?: number;
  message: string;
}

export function Unseal() {
  const status = useLoad(() => api.get<UnsealStatus>('/unseal'), [], 5000);
  const [share, setShare] = useState('');
  const [submission, submit] = useSubmit(async () => {
    const answer = await api.post<UnsealStatus>('/unseal', { share: share.trim() });
    setShare('');
    status.reload();
    return answer.message;
  });
  const data = status.data;
  return (
    <Page title="Unseal">
      <ErrorLine error={status.error} />
      {data && (
        <section class="card" aria-labelledby="seal-state">
          <h2 id="seal-state">
            <span class={data.sealed ? 'badge bad' : 'badge good'}>{data.sealed ? 'SEALED' : 'Unsealed'}</span>
          </h2>
          <p role="status" data-unseal-message>
            {data.message}
          </p>
          {data.threshold !== undefined && (
            <>
              <label for="unseal-progress">
                Shares entered: {data.entered ?? 0} of {data.threshold} needed
              </label>
              <progress id="unseal-progress" class="progress" max={data.threshold} value={data.entered ?? 0} />
            </>
          )}
        </section>
      )}
      {data?.sealed && (
        <form onSubmit={submit}>
          <p>Each custodian enters their own share, one at a time. A share is never shown again or stored in the browser.</p>
          <Field label="Your share" name="share" type="password" value={share} onInput={setShare} submission={submission} required />
          <Guarded permission="node:unseal" type="submit" busy={submission.busy}>
            Enter share
          </Guarded>
          <Outcome submission={submission} shownFields={['share']} />
        </form>
      )}
    </Page>
  );
}
