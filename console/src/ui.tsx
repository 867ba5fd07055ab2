/** Small shared pieces: loading data, forms with the server's errors at their fields, guarded buttons. */
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useId, useState } from 'preact/hooks';
import { ApiError, errorNames } from './api';
import { lacks, type Identity } from './identity';

export const IdentityContext = createContext<Identity | undefined>(undefined);

export function useIdentity(): Identity | undefined {
  return useContext(IdentityContext);
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change or `reload()` is called; every `everyMs` too when given. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (value) => {
          if (!live) return;
          setData(value);
          setError(undefined);
        },
        (failure: unknown) => {
          if (live) setError(messageOf(failure));
        },
      );
    void run();
    const timer = everyMs ? setInterval(() => void run(), everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload };
}

export function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** A form's submission state: `error` is the server's line; `field` the field it names, if any. */
export interface Submission {
  busy: boolean;
  error: string | undefined;
  field: string | undefined;
  done: string | undefined;
}

/** Runs actions chosen at call time (a row's button), keeping the last one's outcome. */
export function useAction(): [Submission, (action: () => Promise<string | undefined>) => void, () => void] {
  const [state, setState] = useState<Submission>({ busy: false, error: undefined, field: undefined, done: undefined });
  const run = (action: () => Promise<string | undefined>) => {
    setState({ busy: true, error: undefined, field: undefined, done: undefined });
    action().then(
      (done) => setState({ busy: false, error: undefined, field: undefined, done }),
      (failure: unknown) =>
        setState({
          busy: false,
          error: messageOf(failure),
          field: failure instanceof ApiError ? failure.field : undefined,
          done: undefined,
        }),
    );
  };
  const clear = () => setState({ busy: false, error: undefined, field: undefined, done: undefined });
  return [state, run, clear];
}

/** A form's submit handler: prevents the page load, shows busy, keeps the server's error and its field. */
export function useSubmit(action: () => Promise<string | undefined>): [Submission, (event?: Event) => void, () => void] {
  const [state, run, clear] = useAction();
  const submit = (event?: Event) => {
    event?.preventDefault();
    run(action);
  };
  return [state, submit, clear];
}

/** A labelled input; shows the submission's error under it when the server named this field. */
export function Field(props: {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  submission?: Submission;
  type?: 'text' | 'password' | 'number';
  placeholder?: string;
  required?: boolean;
  autoComplete?: string;
  /** Other field names the server may use for this input (`requestMetadata.awsPrincipalArn`). */
  aliases?: string[];
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const names = [props.name, ...(props.aliases ?? [])];
  // Preact types <input>'s props as a union over `type`; one object keeps them checked together.
  const inputType = { type: props.type ?? 'text' } as { type: 'text' };
  const message = props.submission?.error;
  const error = message && names.some((name) => errorNames(message, name)) ? message : undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        {...inputType}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        autoComplete={props.autoComplete ?? 'off'}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? errorId : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {error && (
        <p class="field-error" id={errorId} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The form-wide result: the server's error when it named no field shown here, or what was done. */
export function Outcome({ submission, shownFields = [] }: { submission: Submission; shownFields?: string[] }) {
  const message = submission.error;
  if (message && !shownFields.some((field) => errorNames(message, field)))
    return (
      <p class="error" role="alert">
        {submission.error}
      </p>
    );
  if (submission.done)
    return (
      <p class="done" role="status">
        {submission.done}
      </p>
    );
  return null;
}

/** A button that needs `permission`: disabled, with the reason shown beside it, when the identity lacks it. */
export function Guarded(props: {
  permission: string;
  onClick?: () => void;
  type?: 'button' | 'submit';
  busy?: boolean;
  children: ComponentChildren;
  class?: string;
}) {
  const identity = useIdentity();
  const reason = lacks(identity, props.permission);
  const id = useId();
  return (
    <span class="guarded">
      <button
        type={props.type ?? 'button'}
        class={props.class}
        disabled={reason !== undefined || props.busy}
        aria-describedby={reason ? id : undefined}
        onClick={props.onClick}
      >
        {props.children}
      </button>
      {reason && (
        <span class="reason" id={id}>
          {reason}
        </span>
      )}
    </span>
  );
}

/** A secret shown once, with a copy button; it is not kept anywhere once the page moves on. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <p>
        <strong>{label}</strong> — shown once; copy it now.
      </p>
      <code data-secret>{value}</code>{' '}
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** The answer of a gated action: done, or waiting for approvers (202 with the approval request). */
export function describeGated(result: unknown, done: string): string {
  if (typeof result === 'object' && result !== null && 'approval' in result) {
    const approval = result.approval as { id?: string; required?: number };
    return `Waiting for approval (request ${approval.id ?? '?'}, ${approval.required ?? '?'} approvers needed); see Approvals.`;
  }
  return done;
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Keyhold console`;
  }, [title]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      {children}
    </section>
  );
}
