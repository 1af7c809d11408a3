// A peer the dispatcher will not admit (its secret is not derived from the
// dispatcher's master, or it has none and one is required) is not helped by
// retrying forever: the reason is said once, and after a few refusals in a
// row the process gives up (exit 2), as for any other setting it cannot
// start with. A few rather than one, so a dispatcher restarting with its
// secret changed back is still waited for briefly.

export const MAX_AUTH_REFUSALS = 3;

export interface RefusalStep {
  /** The line to log, the first time only. */
  say: string | null;
  giveUp: boolean;
}

export class AuthRefusals {
  private count = 0;

  /** One more connection refused for `reason` (e.g. "auth-failed: this secret is ..."). */
  refused(reason: string): RefusalStep {
    this.count += 1;
    if (this.count >= MAX_AUTH_REFUSALS) return { say: null, giveUp: true };
    const more = MAX_AUTH_REFUSALS - this.count;
    return { say: this.count === 1 ? `${reason}; trying ${more} more time${more === 1 ? '' : 's'} before giving up` : null, giveUp: false };
  }

  /** Admitted: the count starts again. */
  admitted(): void {
    this.count = 0;
  }
}
