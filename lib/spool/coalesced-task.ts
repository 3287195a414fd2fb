/**
 * Runs a task on request, never two runs at once and at most one run per interval; every
 * request resolves (or rejects) with the first run that starts after it. Many requests per
 * second therefore cost a few runs — how acknowledgements reach the checkpoint file.
 */
interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class CoalescedTask {
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  request(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  /** Starts any requested run now and waits until no run is pending. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (this.running) await this.running;
      else if (this.waiters.length > 0) this.start();
      else return;
    }
  }

  private schedule(): void {
    if (this.running || this.timer || this.waiters.length === 0) return;
    // a timer even when no wait is due, so that a synchronous burst of requests shares one run;
    // not unref()ed: whoever awaits the request expects it to complete
    const wait = Math.max(0, this.lastStart + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, wait);
  }

  private start(): void {
    const batch = this.waiters;
    this.waiters = [];
    this.lastStart = Date.now();
    this.running = this.task().then(
      () => batch.forEach((w) => w.resolve()),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
    void this.running.finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }
}
