/** The shape every benchmark returns, and how results are printed. */
export interface BenchResult {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  notes?: string;
}

export interface BenchOptions {
  quick: boolean;
}

/** Fills in `ratio` = value / baseline where a baseline exists. */
export function withRatio(r: BenchResult): BenchResult {
  if (r.baseline && r.baseline.value) r.ratio = r.value / r.baseline.value;
  return r;
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function printTable(title: string, results: BenchResult[]): void {
  const rows = results.map((r) => [
    r.scenario,
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '',
    r.notes ?? '',
  ]);
  const head = ['scenario', 'metric', 'value', 'baseline (same run)', 'ratio', 'notes'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log(`\n## ${title}\n`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) console.log(line(row));
}

/** Standard main for a benchmark file run directly: `tsx bench/x.ts [--quick]`. */
export function runDirectly(title: string, run: (opts: BenchOptions) => Promise<BenchResult[]>): void {
  const quick = process.argv.includes('--quick');
  run({ quick })
    .then((results) => {
      printTable(title, results);
      console.log('\n' + JSON.stringify(results, null, 2));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
