import * as path from 'path';
import { writeFully, type SpoolFs } from './spool-fs';

/**
 * A small JSON file replaced atomically (write a temp file, fsync, rename, fsync the directory):
 * after a crash it holds either the old or the new content, never a mix.
 */
export class AtomicJsonFile {
  readonly path: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly fs: SpoolFs,
    private readonly dir: string,
    name: string,
    private readonly fsync: boolean,
  ) {
    this.path = path.join(dir, name);
  }

  /** The parsed content; undefined when missing or unreadable (treated as never written). */
  async read(): Promise<unknown> {
    const buf = await this.fs.readFile(this.path);
    if (!buf) return undefined;
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  /** Writes are serialised: they complete in call order. */
  write(value: unknown): Promise<void> {
    const text = Buffer.from(JSON.stringify(value), 'utf8');
    const run = this.chain.then(() => this.replace(text));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async replace(content: Buffer): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const file = await this.fs.open(tmp, 'create');
    try {
      await writeFully(file, content, 0);
      if (this.fsync) await file.datasync();
    } finally {
      await file.close();
    }
    await this.fs.rename(tmp, this.path);
    if (this.fsync) await this.fs.syncDir(this.dir);
  }
}
