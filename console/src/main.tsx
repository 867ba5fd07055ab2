/**
 * The Keyhold web console (docs/console.md): a single page served under /console/, talking only to
 * /api/v1 and /metrics with the user's bearer token. Pages are chosen by the URL's hash (#/keys), so the
 * node serves one index.html. A 401 opens the login dialog over the current page, which stays mounted:
 * whatever was typed in a form is still there after logging in again.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, loadSession, onSessionExpired, request, saveSession, type Session } from './api';
import { loadIdentity, type Identity } from './identity';
import { IdentityContext, messageOf } from './ui';
import { Overview } from './pages/overview';
import { Keystores } from './pages/keystores';
import { Keys } from './pages/keys';
import { Policies } from './pages/policies';
import { Approvals } from './pages/approvals';
import { Audit } from './pages/audit';
import { Users } from './pages/users';
import { Unseal } from './pages/unseal';
import './styles.css';

const PAGES = [
  { path: 'overview', title: 'Overview', view: Overview },
  { path: 'keystores', title: 'Keystores', view: Keystores },
  { path: 'keys', title: 'Keys', view: Keys },
  { path: 'policies', title: 'Policies', view: Policies },
  { path: 'approvals', title: 'Approvals', view: Approvals },
  { path: 'audit', title: 'Audit', view: Audit },
  { path: 'users', title: 'Users & tokens', view: Users },
  { path: 'unseal', title: 'Unseal', view: Unseal },
] as const;

function currentPath(): string {
  const path = location.hash.replace(/^#\/?/, '');
  return PAGES.some((page) => page.path === path) ? path : 'overview';
}

function Login({ onLogin, expired }: { onLogin: (session: Session) => void; expired: boolean }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), [mode]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'password') {
        const answer = await request<{ token: string; user: string }>('POST', '/auth/login', { user, password }, '');
        onLogin({ token: answer.token, name: answer.user });
      } else {
        const pasted = token.trim();
        // Any route the token may read proves it; whoami, or the node status for nodes without it.
        await request('GET', '/auth/whoami', undefined, pasted).catch((failure: unknown) => {
          if (failure instanceof ApiError && failure.status === 404) return;
          throw failure;
        });
        onLogin({ token: pasted, name: 'API token' });
      }
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
      setPassword('');
    }
  };

  return (
    <div class="login-backdrop">
      <div class="login" role="dialog" aria-modal="true" aria-labelledby="login-title">
        <h1 id="login-title">Keyhold console</h1>
        {expired && (
          <p class="error" role="alert">
            Your session ended. Log in again; the page behind keeps what you typed.
          </p>
        )}
        <div class="tabs" role="group" aria-label="Log in with">
          <button type="button" aria-pressed={mode === 'password'} onClick={() => setMode('password')}>
            Password
          </button>
          <button type="button" aria-pressed={mode === 'token'} onClick={() => setMode('token')}>
            API token
          </button>
        </div>
        <form onSubmit={(event) => void submit(event)}>
          {mode === 'password' ? (
            <>
              <div class="field">
                <label for="login-user">User</label>
                <input
                  id="login-user"
                  ref={first}
                  value={user}
                  autoComplete="username"
                  required
                  onInput={(e) => setUser(e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="login-password">Password</label>
                <input
                  id="login-password"
                  type="password"
                  value={password}
                  autoComplete="current-password"
                  required
                  onInput={(e) => setPassword(e.currentTarget.value)}
                />
              </div>
            </>
          ) : (
            <div class="field">
              <label for="login-token">API token</label>
              <input
                id="login-token"
                ref={first}
                type="password"
                value={token}
                autoComplete="off"
                required
                onInput={(e) => setToken(e.currentTarget.value)}
              />
            </div>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" disabled={busy}>
            Log in
          </button>
        </form>
      </div>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession());
  const [expired, setExpired] = useState(false);
  const [identity, setIdentity] = useState<Identity | undefined>(undefined);
  const [identityError, setIdentityError] = useState<string | undefined>(undefined);
  const [path, setPath] = useState(currentPath());

  useEffect(() => {
    const onHash = () => {
      setPath(currentPath());
      document.getElementById('page-title')?.focus();
    };
    addEventListener('hashchange', onHash);
    onSessionExpired(() => {
      setSession(undefined);
      setExpired(true);
    });
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!session) return;
    loadIdentity(session.name).then(
      (who) => {
        setIdentity(who);
        setIdentityError(undefined);
      },
      (failure: unknown) => setIdentityError(messageOf(failure)),
    );
  }, [session]);

  const login = (next: Session) => {
    saveSession(next);
    setExpired(false);
    setSession(next);
  };
  const logout = () => {
    saveSession(undefined);
    setSession(undefined);
    setIdentity(undefined);
    setExpired(false);
  };

  const page = PAGES.find((candidate) => candidate.path === path) ?? PAGES[0];
  const View = page.view;
  // Before the first login there is no page to keep; after an expiry the page stays under the dialog.
  const showPage = identity !== undefined;
  return (
    <IdentityContext.Provider value={identity}>
      {showPage && (
        <div class="shell" inert={session === undefined}>
          <header>
            <a class="skip" href="#main">
              Skip to content
            </a>
            <span class="brand">Keyhold</span>
            <nav aria-label="Pages">
              <ul>
                {PAGES.map((candidate) => (
                  <li key={candidate.path}>
                    <a href={`#/${candidate.path}`} aria-current={candidate.path === page.path ? 'page' : undefined}>
                      {candidate.title}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <span class="who">
              {identity.name}
              {identity.roles.length > 0 && ` (${identity.roles.join(', ')})`}{' '}
              <button type="button" onClick={logout}>
                Log out
              </button>
            </span>
          </header>
          {identity.permissions === undefined && (
            <p class="notice">This node does not report your permissions; actions it refuses show its reason.</p>
          )}
          <main id="main">
            <View />
          </main>
        </div>
      )}
      {identityError && session && (
        <p class="error" role="alert">
          {identityError}
        </p>
      )}
      {!session && <Login onLogin={login} expired={expired} />}
    </IdentityContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
