import type { NodeAPI } from 'node-red';

/**
 * What a node closed for a deploy or a flows restart (not removed) leaves to its next instance,
 * by node id. On a full deploy the nodes downstream close at the same moment, so sending then
 * would lose it; the next instance (same id) takes it and sends it once the flows have started.
 * Whatever no instance takes by then belonged to a node that is gone, or Node-RED is stopping.
 */
export class NextInstanceHandover<T> {
  private readonly left = new Map<string, T[]>();

  /** What an earlier instance of node `id` left, handed out once. */
  take(id: string): T[] | undefined {
    const items = this.left.get(id);
    this.left.delete(id);
    return items;
  }

  /**
   * Leaves `items` to the next instance of node `id`. If the flows start and none took them,
   * `abandoned` is called; if Node-RED exits first (no next instance will come), `lost`.
   */
  leave(id: string, items: T[], events: NodeAPI['events'], on: { abandoned(): void; lost(): void }): void {
    this.left.set(id, items);
    // the log still works in 'exit'
    const onExit = () => {
      if (this.left.get(id) === items) on.lost();
    };
    process.once('exit', onExit);
    events.once('flows:started', () => {
      process.removeListener('exit', onExit);
      if (this.left.get(id) !== items) return;
      this.left.delete(id);
      on.abandoned();
    });
  }
}
