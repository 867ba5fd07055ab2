/**
 * Login attempts per user name, shared by every node on the database (the failed-login limiter's state,
 * src/access/login-limiter.ts). Each call is one atomic statement, so parallel guesses on several nodes
 * are all counted.
 */
export interface LoginAttemptStore {
  /**
   * Counts one attempt for `userName` and returns the count in the current window with the window's start:
   * a window that began at or before `now - windowMs` is over, and this attempt opens a new one (count 1).
   */
  countAttempt(userName: string, now: number, windowMs: number): Promise<{ attempts: number; windowStart: number }>;
  /** Forgets the user's attempts (after a successful login). */
  clear(userName: string): Promise<void>;
  /** Deletes the windows that began at or before `before` (bounded table when someone sprays user names). */
  prune(before: number): Promise<number>;
}
