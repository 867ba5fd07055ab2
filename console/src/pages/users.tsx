/** Users and tokens: users and their roles, token creation (the token shown once), revocation. */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { ErrorLine, Field, Guarded, Outcome, Page, SecretOnce, describeGated, useAction, useLoad, useSubmit } from '../ui';

interface UserView {
  name: string;
  roles: string[];
  disabled: boolean;
  createdAt: string;
}
interface TokenView {
  id: string;
  name: string;
  user?: string;
  role?: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}
interface RoleView {
  name: string;
  description: string;
}

const splitRoles = (text: string) =>
  text
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState('');
  const [submission, submit] = useSubmit(async () => {
    const answer = await api.post('/users', { name, password, roles: splitRoles(roles) });
    onCreated();
    setPassword('');
    return describeGated(answer, `User ${name} created.`);
  });
  return (
    <form onSubmit={submit}>
      <h2>Create a user</h2>
      <Field label="Name" name="name" value={name} onInput={setName} submission={submission} required />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        value={password}
        onInput={setPassword}
        submission={submission}
        required
      />
      <Field label="Roles (comma-separated)" name="roles" value={roles} onInput={setRoles} submission={submission} />
      <Guarded permission="users:manage" type="submit" busy={submission.busy}>
        Create user
      </Guarded>
      <Outcome submission={submission} shownFields={['name', 'password', 'roles']} />
    </form>
  );
}

function CreateToken({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [user, setUser] = useState('');
  const [role, setRole] = useState('');
  const [ttl, setTtl] = useState('');
  const [token, setToken] = useState<string | undefined>(undefined);
  const [submission, submit] = useSubmit(async () => {
    setToken(undefined);
    const answer = await api.post<{ token?: string }>('/tokens', {
      name,
      user: user || undefined,
      role: role || undefined,
      ttlHours: ttl === '' ? undefined : Number(ttl),
    });
    onCreated();
    if (answer.token) {
      setToken(answer.token);
      return 'Token created.';
    }
    return describeGated(answer, 'Token created.');
  });
  return (
    <form onSubmit={submit}>
      <h2>Create a token</h2>
      <Field label="Token name" name="name" value={name} onInput={setName} submission={submission} required />
      <Field label="For user (or leave empty and give a role)" name="user" value={user} onInput={setUser} submission={submission} />
      <Field label="Service token role" name="role" value={role} onInput={setRole} submission={submission} />
      <Field label="Lifetime in hours (optional)" name="ttlHours" type="number" value={ttl} onInput={setTtl} submission={submission} />
      <Guarded permission="users:manage" type="submit" busy={submission.busy}>
        Create token
      </Guarded>
      <Outcome submission={submission} shownFields={['name', 'user', 'role', 'ttlHours']} />
      {token && <SecretOnce label="API token" value={token} />}
    </form>
  );
}

export function Users() {
  const users = useLoad(() => api.get<UserView[]>('/users'), []);
  const tokens = useLoad(() => api.get<TokenView[]>(`/tokens${query({})}`), []);
  const roles = useLoad(() => api.get<RoleView[]>('/roles'), []);
  const [revoked, revoke] = useAction();
  return (
    <Page title="Users & tokens">
      <ErrorLine error={users.error} />
      {users.data && (
        <table>
          <caption>Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Roles</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {users.data.map((user) => (
              <tr key={user.name}>
                <td>{user.name}</td>
                <td>{user.roles.join(', ')}</td>
                <td>{user.disabled ? 'disabled' : 'active'}</td>
                <td>{user.createdAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {roles.data && <p>Roles: {roles.data.map((role) => `${role.name} (${role.description})`).join('; ')}</p>}
      <ErrorLine error={tokens.error && tokens.error !== users.error ? tokens.error : undefined} />
      {tokens.data && (
        <table>
          <caption>API tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td>{token.user ?? `service (${token.role ?? '?'})`}</td>
                <td>{token.createdAt}</td>
                <td>{token.expiresAt ?? 'never'}</td>
                <td>{token.lastUsedAt ?? '—'}</td>
                <td>
                  <Guarded
                    permission="users:manage"
                    onClick={() =>
                      revoke(async () => {
                        await api.del(`/tokens/${encodeURIComponent(token.id)}`);
                        tokens.reload();
                        return `Token ${token.name} revoked.`;
                      })
                    }
                  >
                    Revoke {token.name}
                  </Guarded>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Outcome submission={revoked} />
      <div class="cards">
        <section class="card">
          <CreateUser onCreated={users.reload} />
        </section>
        <section class="card">
          <CreateToken onCreated={tokens.reload} />
        </section>
      </div>
    </Page>
  );
}
