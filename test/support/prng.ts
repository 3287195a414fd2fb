/**
 * A tiny seeded PRNG (mulberry32): the fuzz and chaos scenarios are random but repeatable —
 * the same seed gives the same cases, so a failure can be replayed.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** a string of n characters from the given alphabet, or from all of Unicode's BMP (surrogates included) */
  text(n: number, alphabet?: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet ? alphabet[this.int(alphabet.length)] : String.fromCharCode(this.int(0x10000));
    return s;
  }
}

/** A seeded source of numbers in [0, 1), for tests that only need `next`. */
export function randomSource(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}
