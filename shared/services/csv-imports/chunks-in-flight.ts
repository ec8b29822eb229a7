// Chunks of one file written concurrently, in the file's order where their ids meet.

export class ChunksInFlight {
  private readonly chunks: Array<{ firstRow: number; ids: ReadonlySet<string>; done: Promise<void> }> = [];

  /** Starts `send` once the chunks it depends on are written; waits while `limit` are in flight. */
  async start(firstRow: number, ids: ReadonlySet<string>, send: () => Promise<void>, limit: number): Promise<void> {
    const before = this.chunks.filter((c) => [...ids].some((id) => c.ids.has(id))).map((c) => c.done);
    const entry = { firstRow, ids, done: Promise.all(before).then(send) };
    this.chunks.push(entry);
    // Settled ones leave at once; a failure is thrown by drain() or the next start().
    entry.done.then(
      () => this.chunks.splice(this.chunks.indexOf(entry), 1),
      () => undefined,
    );
    try {
      while (this.chunks.length >= limit) await Promise.race(this.chunks.map((c) => c.done));
    } catch (error) {
      // Nothing is left writing behind a failed import (its retry may start at once).
      await this.drain().catch(() => undefined);
      throw error;
    }
  }

  firstRow(): number | undefined {
    return this.chunks[0]?.firstRow;
  }

  /** Waits for every chunk; throws the first failure once all have settled. */
  async drain(): Promise<void> {
    const outcomes = await Promise.allSettled(this.chunks.map((c) => c.done));
    const failure = outcomes.find((o) => o.status === 'rejected');
    if (failure) throw failure.reason;
  }
}
