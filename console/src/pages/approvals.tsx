/** Approvals: requests waiting for me, mine waiting for others, and the rest; approve or deny with a comment. */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { ErrorLine, Guarded, Outcome, Page, useAction, useIdentity, useLoad } from '../ui';

interface ApprovalView {
  id: string;
  operation: string;
  group: string;
  summary: string;
  status: string;
  requester: string;
  required: number;
  approvals: { user: string; at: string; comment?: string }[];
  denials: { user: string; at: string; comment?: string }[];
  createdAt: string;
  expiresAt: string;
  error?: string;
}

type Run = (action: () => Promise<string | undefined>) => void;

function Decide({ approval, onDecided, run }: { approval: ApprovalView; onDecided: () => void; run: Run }) {
  const [comment, setComment] = useState('');
  const decide = (decision: 'approve' | 'deny') =>
    run(async () => {
      const answer = await api.post<ApprovalView>(`/approvals/${encodeURIComponent(approval.id)}/${decision}`, comment ? { comment } : {});
      setComment('');
      onDecided();
      return `${decision === 'approve' ? 'Approved' : 'Denied'}; the request is now ${answer.status}.`;
    });
  const id = `comment-${approval.id}`;
  return (
    <div>
      <div class="field">
        <label for={id}>Comment</label>
        <input id={id} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </div>
      <Guarded permission="approvals:decide" onClick={() => decide('approve')}>
        Approve
      </Guarded>
      <Guarded permission="approvals:decide" class="danger" onClick={() => decide('deny')}>
        Deny
      </Guarded>
    </div>
  );
}

function ApprovalTable({ title, items, onDecided, run }: { title: string; items: ApprovalView[]; onDecided: () => void; run?: Run }) {
  return (
    <table>
      <caption>
        {title} ({items.length})
      </caption>
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Requester</th>
          <th scope="col">Status</th>
          <th scope="col">Votes</th>
          <th scope="col">Expires</th>
          {run && <th scope="col">Decision</th>}
        </tr>
      </thead>
      <tbody>
        {items.map((approval) => (
          <tr key={approval.id} data-approval={approval.id}>
            <td>
              {approval.summary}
              <br />
              <small>
                {approval.operation} · {approval.id}
              </small>
            </td>
            <td>{approval.requester}</td>
            <td>
              {approval.status}
              {approval.error && ` (${approval.error})`}
            </td>
            <td>
              {approval.approvals.length} of {approval.required} approvals
              {approval.denials.length > 0 && `, ${approval.denials.length} denials`}
              <ul>
                {[
                  ...approval.approvals.map((v) => ({ ...v, vote: 'approved' })),
                  ...approval.denials.map((v) => ({ ...v, vote: 'denied' })),
                ].map((vote) => (
                  <li key={`${vote.user}-${vote.at}`}>
                    {vote.user} {vote.vote}
                    {vote.comment && `: “${vote.comment}”`}
                  </li>
                ))}
              </ul>
            </td>
            <td>{approval.expiresAt}</td>
            {run && (
              <td>
                <Decide approval={approval} onDecided={onDecided} run={run} />
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Approvals() {
  const identity = useIdentity();
  const [status, setStatus] = useState('pending');
  const list = useLoad(() => api.get<ApprovalView[]>(`/approvals${query({ status })}`), [status], 5000);
  const me = identity?.name;
  const all = list.data ?? [];
  const forMe = all.filter((a) => a.status === 'pending' && a.requester !== me && !a.approvals.some((v) => v.user === me));
  const mine = all.filter((a) => a.requester === me);
  const others = all.filter((a) => !forMe.includes(a) && !mine.includes(a));
  // The outcome stays here: the decided request moves out of the inbox as soon as the list reloads.
  const [outcome, run] = useAction();
  return (
    <Page title="Approvals">
      <div class="field">
        <label for="approval-status">Show</label>
        <select id="approval-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="pending">pending</option>
          <option value="approved">approved</option>
          <option value="done">done</option>
          <option value="failed">failed</option>
          <option value="denied">denied</option>
          <option value="expired">expired</option>
          <option value="">all</option>
        </select>
      </div>
      <ErrorLine error={list.error} />
      <Outcome submission={outcome} />
      {list.data && (
        <>
          <ApprovalTable title="Waiting for me" items={forMe} onDecided={list.reload} run={run} />
          <ApprovalTable title="Mine, waiting for others" items={mine} onDecided={list.reload} />
          <ApprovalTable title="Other requests" items={others} onDecided={list.reload} />
        </>
      )}
    </Page>
  );
}
