/**
 * A mocha root hook (loaded by .mocharc.json): after the run, one line saying which tests were
 * skipped and why (a missing mosquitto, Chromium or SDK), instead of a bare "N pending". A test
 * that skips itself at run time sets `skipReason` on itself first (see skipBecause).
 */
import type { Context, Suite, Test } from 'mocha';

type Skippable = Test & { skipReason?: string };

/** Skips the running test, with the reason the summary prints. */
export function skipBecause(ctx: Context, reason: string): never {
  (ctx.test as Skippable).skipReason = reason;
  ctx.skip();
}

function skippedIn(suite: Suite): string[] {
  const own = suite.tests.filter((t) => t.state === 'pending' || (t.isPending() && t.state === undefined && !t.fn)).map((t) => (t as Skippable).skipReason ?? t.title);
  return own.concat(suite.suites.flatMap(skippedIn));
}

export const mochaHooks = {
  afterAll(this: Context): void {
    let root: Suite | undefined = this.test?.parent;
    while (root?.parent) root = root.parent;
    const reasons = root ? skippedIn(root) : [];
    if (reasons.length === 0) return;
    const counts = new Map<string, number>();
    for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const list = [...counts].map(([r, n]) => (n > 1 ? `${r} (×${n})` : r)).join('; ');
    console.log(`\n  skipped ${reasons.length} test${reasons.length === 1 ? '' : 's'}: ${list}`);
  },
};
