import * as fs from 'fs';

/** Peak and current resident memory of a process (Linux /proc), in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/**
 * CPU seconds (user + system) a process has used so far; with `tid`, one of its threads only
 * (the main thread's tid is the pid: what the JavaScript of a Node-RED flow runs on, without
 * V8's helper threads and the libuv pool).
 */
export function cpuSeconds(pid: number, tid?: number): number {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

/** Samples RSS every `everyMs` until stopped; returns the highest value seen. */
export function sampleRss(pid: number, everyMs = 200): { stop: () => number; samples: number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    try {
      samples.push(memoryMb(pid).rss);
    } catch {
      // process gone
    }
  }, everyMs);
  return { samples, stop: () => (clearInterval(timer), Math.max(0, ...samples)) };
}
