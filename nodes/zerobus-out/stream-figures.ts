import type { SinkStats } from '../../lib/sink';
import type { LiveStreamFigures } from '../common/live-stats';

/**
 * The sink's streams as the sidebar card shows them: the chip "streams: 4 (auto, max 8)" and
 * one row per stream. A node on one fixed stream shows neither, so its card stays as it was.
 */
export function streamsChip(stats: Pick<SinkStats, 'streams' | 'streamsMode' | 'maxStreams'>): { streams?: string } {
  const running = stats.streams?.length ?? 0;
  // auto starts with one stream: the card says so before it has opened
  if (stats.streamsMode === 'auto') return { streams: `${Math.max(1, running)} (auto, max ${stats.maxStreams})` };
  return running > 1 ? { streams: String(running) } : {};
}

export function perStreamFigures(stats: Pick<SinkStats, 'streams'>): LiveStreamFigures[] | undefined {
  if (!stats.streams || stats.streams.length < 2) return undefined;
  return stats.streams.map((s) => ({ index: s.index, state: s.state, inFlight: s.inFlight, ackedPerSec: s.rateOut, retiring: s.retiring }));
}
