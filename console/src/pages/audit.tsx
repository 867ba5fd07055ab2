/** Audit: search with the CLI's filters, an event's detail, export as JSON lines, and chain verification. */
import { useState } from 'preact/hooks';
import { api, download, query } from '../api';
import { ErrorLine, Field, Guarded, Outcome, Page, useAction, useSubmit } from '../ui';

const PAGE_SIZE = 100;

interface AuditEvent {
  chain: string;
  seq: number;
  time: string | number;
  action?: string;
  outcome?: string;
  keyId?: string;
  keystore?: string;
  principal?: string;
  kmsRequestId?: string;
  [field: string]: unknown;
}
interface SearchAnswer {
  events: AuditEvent[];
  nextCursor: string | null;
}
interface VerifyReport {
  ok: boolean;
  chains: { chain: string; ok?: boolean; events?: number; problems?: unknown[]; [field: string]: unknown }[];
}

const FILTERS = ['keyId', 'keystore', 'kmsRequestId', 'principal', 'action', 'chain', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number];
const LABELS: Record<Filter, string> = {
  keyId: 'Key id',
  keystore: 'Keystore',
  kmsRequestId: 'KMS request id',
  principal: 'Principal',
  action: 'Action',
  chain: 'Chain',
  from: 'From (ISO time)',
  to: 'To (ISO time)',
};

export function Audit() {
  const [filters, setFilters] = useState<Record<Filter, string>>({
    keyId: '',
    keystore: '',
    kmsRequestId: '',
    principal: '',
    action: '',
    chain: '',
    from: '',
    to: '',
  });
  const [outcome, setOutcome] = useState('');
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [detail, setDetail] = useState<AuditEvent | undefined>(undefined);
  const [report, setReport] = useState<VerifyReport | undefined>(undefined);
  const search = (cursor?: string) => api.get<SearchAnswer>(`/audit/events${query({ ...filters, outcome, limit: PAGE_SIZE, cursor })}`);
  const [searched, submit] = useSubmit(async () => {
    const answer = await search();
    setEvents(answer.events);
    setNext(answer.nextCursor);
    setDetail(undefined);
    return `${answer.events.length} events${answer.nextCursor ? ' (more on the next page)' : ''}.`;
  });
  const [more, runMore] = useAction();
  const [exported, runExport] = useAction();
  const [verified, runVerify] = useAction();
  return (
    <Page title="Audit">
      <form role="search" onSubmit={submit}>
        <div class="cards">
          <div>
            {FILTERS.map((name) => (
              <Field
                key={name}
                label={LABELS[name]}
                name={name}
                value={filters[name]}
                onInput={(value) => setFilters({ ...filters, [name]: value })}
                submission={searched}
              />
            ))}
            <div class="field">
              <label for="audit-outcome">Outcome</label>
              <select id="audit-outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
                <option value="">any</option>
                <option>success</option>
                <option>error</option>
                <option>denied</option>
                <option>failure</option>
                <option>pending</option>
              </select>
            </div>
          </div>
        </div>
        <Guarded permission="audit:read" type="submit" busy={searched.busy}>
          Search
        </Guarded>
        <Guarded
          permission="audit:read"
          onClick={() =>
            runExport(async () => {
              const lines: string[] = [];
              let cursor: string | undefined;
              do {
                const page = await search(cursor);
                lines.push(...page.events.map((event) => JSON.stringify(event)));
                cursor = page.nextCursor ?? undefined;
              } while (cursor && lines.length < 100_000);
              download('keyhold-audit.jsonl', lines.join('\n') + '\n', 'application/x-ndjson');
              return `Exported ${lines.length} events as JSON lines.`;
            })
          }
        >
          Export JSON lines
        </Guarded>
        <Guarded
          permission="audit:read"
          onClick={() =>
            runVerify(async () => {
              const answer = await api.get<VerifyReport>('/audit/verify');
              setReport(answer);
              return undefined;
            })
          }
        >
          Verify the chains
        </Guarded>
        <Outcome submission={searched} shownFields={[...FILTERS]} />
        <Outcome submission={exported} />
        <Outcome submission={verified} />
      </form>
      {report && (
        <section class="card" aria-labelledby="verify-title">
          <h2 id="verify-title">Verification</h2>
          <p role="status" class={report.ok ? 'done' : 'error'} data-verify={report.ok ? 'ok' : 'failed'}>
            {report.ok ? 'Every chain verifies.' : 'Verification FAILED.'} ({report.chains.length} chains)
          </p>
          <pre tabIndex={0}>{JSON.stringify(report.chains, null, 2)}</pre>
        </section>
      )}
      {events.length > 0 && (
        <table>
          <caption>Audit events</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Key</th>
              <th scope="col">Principal</th>
              <th scope="col">Event</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={`${event.chain}-${event.seq}`}>
                <td>{typeof event.time === 'number' ? new Date(event.time).toISOString() : event.time}</td>
                <td>{event.action ?? ''}</td>
                <td>{event.outcome ?? ''}</td>
                <td>{event.keyId ?? ''}</td>
                <td>{event.principal ?? ''}</td>
                <td>
                  <button type="button" class="link" onClick={() => setDetail(event)}>
                    {event.chain} #{event.seq}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button
          type="button"
          disabled={more.busy}
          onClick={() =>
            runMore(async () => {
              const answer = await search(next);
              setEvents([...events, ...answer.events]);
              setNext(answer.nextCursor);
              return undefined;
            })
          }
        >
          More events
        </button>
      )}
      <ErrorLine error={more.error} />
      {detail && (
        <section class="card" aria-labelledby="event-title">
          <h2 id="event-title">
            Event {detail.chain} #{detail.seq}
          </h2>
          <pre tabIndex={0}>{JSON.stringify(detail, null, 2)}</pre>
        </section>
      )}
    </Page>
  );
}
