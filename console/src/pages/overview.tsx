/** Overview: node health, sealed or not, the kill switch, and live charts from the node's /metrics. */
import { useEffect, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, fetchMetricsText } from '../api';
import { LineChart } from '../chart';
import { parsePrometheus, quantileMs, rates, snapshot, type Snapshot } from '../metrics';
import { ErrorLine, Guarded, Outcome, Page, messageOf, useLoad, useSubmit } from '../ui';

const REFRESH_MS = 3000;
const KEEP = 60;
/** What AWS KMS waits for an XKS answer (docs/requirements.md). */
const KMS_BUDGET_MS = 250;

interface NodeStatus {
  version: string;
  nodeId: string;
  rootOfTrust: string;
  rootOfTrustState?: string;
  ekmHealth: string;
  keystores: number;
  keys: number;
  worker: { index: number; count: number };
}
/** One node of GET /api/v1/fleet (docs/fleet.md#fleet-view). */
interface FleetNode {
  id: string;
  address?: string;
  version?: string;
  state: 'live' | 'gone';
  self: boolean;
  heartbeatAgeMs: number;
  sealed?: boolean;
  rootOfTrust?: { kind: string; state: string };
  audit?: { queued: number; spooled: number };
  propagation?: { mode: string; listening: boolean; behind: number };
  requestsPerSecond?: number;
}
interface FleetView {
  nodes: FleetNode[];
  live: number;
  gone: number;
}
interface KillSwitchState {
  on: boolean;
  reason?: string;
  since?: string;
}
interface UnsealStatus {
  sealed: boolean;
  message: string;
}

interface Point {
  at: number;
  rps: Record<string, number>;
  errors: Record<string, number>;
  p50?: number;
  p99?: number;
  throttles: number;
  auditQueue: number;
}

function useMetrics(): { points: Point[]; last: Snapshot | undefined; error: string | undefined } {
  const [points, setPoints] = useState<Point[]>([]);
  const [last, setLast] = useState<Snapshot | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let previous: Snapshot | undefined;
    let live = true;
    const scrape = async () => {
      try {
        const shot = snapshot(parsePrometheus(await fetchMetricsText()), Date.now());
        if (!live) return;
        setLast(shot);
        setError(undefined);
        if (previous) {
          const seconds = Math.max(0.001, (shot.at - previous.at) / 1000);
          const point: Point = {
            at: shot.at / 1000,
            rps: rates(previous.requests, shot.requests, seconds),
            errors: rates(previous.errors, shot.errors, seconds),
            p50: quantileMs(previous.buckets, shot.buckets, 0.5),
            p99: quantileMs(previous.buckets, shot.buckets, 0.99),
            throttles: Math.max(0, shot.throttles - previous.throttles) / seconds,
            auditQueue: shot.auditQueue,
          };
          setPoints((all) => [...all.slice(-(KEEP - 1)), point]);
        }
        previous = shot;
      } catch (failure) {
        if (live) setError(messageOf(failure));
      }
    };
    void scrape();
    const timer = setInterval(() => void scrape(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return { points, last, error };
}

function series(points: Point[], pick: (point: Point) => Record<string, number>): { labels: string[]; data: uPlot.AlignedData } {
  const labels = [...new Set(points.flatMap((point) => Object.keys(pick(point))))].sort();
  const shown = labels.length > 0 ? labels : ['none'];
  return {
    labels: shown,
    data: [points.map((point) => point.at), ...shown.map((label) => points.map((point) => pick(point)[label] ?? 0))],
  };
}

function KillSwitch() {
  const state = useLoad(() => api.get<KillSwitchState>('/node/kill-switch'), []);
  const [reason, setReason] = useState('');
  const on = state.data?.on ?? false;
  const [submission, submit] = useSubmit(async () => {
    if (!on && reason.trim() === '') throw new Error('Give a reason: it is recorded in the audit log.');
    await api.put('/node/kill-switch', { on: !on, reason: reason.trim() || undefined });
    setReason('');
    state.reload();
    return on ? 'Kill switch released: keys answer again.' : 'Kill switch engaged: every key operation is refused.';
  });
  return (
    <section class="card" aria-labelledby="kill-switch-title">
      <h2 id="kill-switch-title">Kill switch</h2>
      <ErrorLine error={state.error} />
      {state.data && (
        <p>
          <span class={on ? 'badge bad' : 'badge good'}>{on ? 'ENGAGED' : 'off'}</span>
          {state.data.reason && ` — ${state.data.reason}`}
          {state.data.since && ` (since ${state.data.since})`}
        </p>
      )}
      <form onSubmit={submit}>
        <div class="field">
          <label for="kill-reason">Reason</label>
          <input id="kill-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </div>
        <Guarded permission="node:kill-switch" type="submit" busy={submission.busy} class={on ? '' : 'danger'}>
          {on ? 'Release the kill switch' : 'Engage the kill switch'}
        </Guarded>
        <Outcome submission={submission} />
      </form>
    </section>
  );
}

/** Every node on this database, live or gone, as the nodes last reported at their heartbeats. */
function Fleet() {
  const fleet = useLoad(() => api.get<FleetView>('/fleet'), [], 10_000);
  return (
    <section class="card" aria-labelledby="fleet-title">
      <h2 id="fleet-title">Fleet</h2>
      <ErrorLine error={fleet.error} />
      {fleet.data && (
        <table>
          <caption>
            {fleet.data.live} live, {fleet.data.gone} gone
          </caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">State</th>
              <th scope="col">Version</th>
              <th scope="col">Sealed</th>
              <th scope="col">Root of trust</th>
              <th scope="col">Audit queue / spool</th>
              <th scope="col">Changes</th>
              <th scope="col">Requests/s</th>
            </tr>
          </thead>
          <tbody>
            {fleet.data.nodes.map((node) => (
              <tr key={node.id} data-node={node.id}>
                <td>
                  {node.id}
                  {node.self && ' (this node)'}
                  {node.address && (
                    <>
                      <br />
                      <small>{node.address}</small>
                    </>
                  )}
                </td>
                <td>
                  <span class={node.state === 'live' ? 'badge good' : 'badge bad'}>{node.state}</span>{' '}
                  <small>{Math.round(node.heartbeatAgeMs / 1000)} s ago</small>
                </td>
                <td>{node.version ?? '?'}</td>
                <td>{node.sealed === undefined ? '?' : node.sealed ? 'sealed' : 'no'}</td>
                <td>{node.rootOfTrust ? `${node.rootOfTrust.kind} ${node.rootOfTrust.state}` : '?'}</td>
                <td>{node.audit ? `${node.audit.queued} / ${node.audit.spooled}` : '?'}</td>
                <td>
                  {node.propagation
                    ? `${node.propagation.listening ? 'listening' : node.propagation.mode}, ${node.propagation.behind} behind`
                    : '?'}
                </td>
                <td>{node.requestsPerSecond ?? '?'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Overview() {
  const node = useLoad(() => api.get<NodeStatus>('/node'), [], 10_000);
  const unseal = useLoad(() => api.get<UnsealStatus>('/unseal'), [], 10_000);
  const { points, last, error } = useMetrics();
  const requests = series(points, (point) => point.rps);
  const errors = series(points, (point) => point.errors);
  const latency: uPlot.AlignedData = [
    points.map((point) => point.at),
    points.map((point) => point.p50 ?? null),
    points.map((point) => point.p99 ?? null),
    points.map(() => KMS_BUDGET_MS),
  ];
  const other: uPlot.AlignedData = [
    points.map((point) => point.at),
    points.map((point) => point.throttles),
    points.map((point) => point.auditQueue),
  ];
  return (
    <Page title="Overview">
      <div class="cards">
        <section class="card" aria-labelledby="node-title">
          <h2 id="node-title">Node</h2>
          <ErrorLine error={node.error} />
          {node.data && (
            <dl>
              <dt>Version</dt>
              <dd>{node.data.version}</dd>
              <dt>Node</dt>
              <dd>{node.data.nodeId}</dd>
              <dt>Root of trust</dt>
              <dd>
                {node.data.rootOfTrust}
                {node.data.rootOfTrustState && ` (${node.data.rootOfTrustState})`}
              </dd>
              <dt>Key manager health</dt>
              <dd>{node.data.ekmHealth}</dd>
              <dt>Keystores / keys</dt>
              <dd>
                {node.data.keystores} / {node.data.keys}
              </dd>
              <dt>Worker</dt>
              <dd>
                {node.data.worker.index} of {node.data.worker.count}
              </dd>
            </dl>
          )}
          {unseal.data && (
            <p>
              <span class={unseal.data.sealed ? 'badge bad' : 'badge good'}>{unseal.data.sealed ? 'SEALED' : 'unsealed'}</span>{' '}
              {unseal.data.message} {unseal.data.sealed && <a href="#/unseal">Unseal</a>}
            </p>
          )}
          <ErrorLine error={unseal.error && !node.error ? unseal.error : undefined} />
        </section>
        <KillSwitch />
      </div>
      <Fleet />
      <h2>Live ({REFRESH_MS / 1000} s refresh)</h2>
      <ErrorLine error={error} />
      {last && (
        <p>
          Audit queue: {last.auditQueue} · throttled answers: {last.throttles} · errors:{' '}
          {Object.values(last.errors).reduce((a, b) => a + b, 0)}
        </p>
      )}
      <div class="charts">
        <LineChart
          title="Requests/s by operation"
          unit="req/s"
          labels={requests.labels}
          data={requests.data}
          description="XKS answers per second"
        />
        <LineChart
          title="Latency vs the 250 ms KMS budget"
          unit="ms"
          labels={['p50', 'p99', 'KMS budget']}
          data={latency}
          description="p50 and p99 latency in milliseconds"
        />
        <LineChart
          title="Errors/s by XKS error"
          unit="err/s"
          labels={errors.labels}
          data={errors.data}
          description="XKS error answers per second"
        />
        <LineChart
          title="Throttling and audit queue"
          unit="count"
          labels={['throttled/s', 'audit queue']}
          data={other}
          description="throttled answers per second and audit queue depth"
        />
      </div>
    </Page>
  );
}
