/**
 * How the doctor runs its checks: steps in order, each passing with a detail or failing with a plain
 * reason; a step whose prerequisites failed is reported as not run. Nothing secret reaches a detail.
 */
import { isKmsError } from './kms-error.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Thrown by a step to fail with a plain explanation. */
class CheckFailed extends Error {}

export interface DoctorStep {
  name: string;
  /** Steps whose success this one builds on. */
  requires?: string[];
  /** Returns the detail on success; throws to fail. */
  run: () => Promise<string>;
}

export function check(condition: boolean, detail: string): asserts condition {
  if (!condition) throw new CheckFailed(detail);
}

function describeFailure(error: unknown): string {
  if (error instanceof CheckFailed) return error.message;
  if (isKmsError(error)) {
    const extras = [
      error.connectionErrorCode ? `ConnectionErrorCode ${error.connectionErrorCode}` : '',
      error.proxyErrorName ? `proxy said ${error.proxyErrorName}` : '',
      error.failedChecks.length ? `failed checks: ${error.failedChecks.join(', ')}` : '',
    ].filter(Boolean);
    return `${error.name}: ${error.message}${extras.length ? ` (${extras.join('; ')})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export async function runSteps(steps: DoctorStep[], redact: (text: string) => string): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const passed = new Set<string>();
  for (const step of steps) {
    const missing = (step.requires ?? []).filter((name) => !passed.has(name));
    if (missing.length > 0) {
      checks.push({ name: step.name, ok: false, detail: `not run: needs "${missing.join('", "')}"` });
      continue;
    }
    try {
      const detail = await step.run();
      passed.add(step.name);
      checks.push({ name: step.name, ok: true, detail: redact(detail) });
    } catch (error) {
      checks.push({ name: step.name, ok: false, detail: redact(describeFailure(error)) });
    }
  }
  return checks;
}
