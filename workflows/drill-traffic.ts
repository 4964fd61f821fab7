import { sleep } from '@temporalio/workflow';
import { mergeOutages, stillOpen, type Outage } from '../engine/outages';

/*
 * The drill's client-side view while it runs: the write canary and the
 * optional load probe, each an activity called chunk after chunk so the
 * drill can stop it at any chunk's end and the history grows by a few
 * events per chunk, not per request.
 */

/** What one chunk reports; outages continue an `openOutage` handed in. */
export interface ChunkResult {
  outages: Outage[];
}

/** How long one chunk runs. */
export const CHUNK_MS = 10_000;

/**
 * Runs `chunk` again and again until `stopped()` says so after a chunk,
 * merging outages across chunks (engine/outages.ts): an outage still open
 * at a chunk's end is handed to the next, which reports it again.
 */
export class ChunkedProbe<R extends ChunkResult> {
  outages: Outage[] = [];
  /** Chunks whose activity failed for good; their stretch of time is not measured. */
  failedChunks = 0;
  private stop = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly chunk: (openOutage: string | undefined) => Promise<R>,
    private readonly onResult: (result: R) => void,
  ) {}

  start(): void {
    this.loop ??= (async () => {
      while (!this.stop) {
        const open = stillOpen(this.outages);
        let result: R;
        try {
          result = await this.chunk(open);
        } catch {
          // A probe that cannot run must not end the drill, nor spin: wait a chunk's length and go on.
          this.failedChunks += 1;
          await sleep(CHUNK_MS);
          continue;
        }
        this.outages = mergeOutages(this.outages, result.outages);
        this.onResult(result);
      }
    })();
  }

  /** Stops after the chunk running now and resolves once it has reported. */
  async finish(): Promise<void> {
    this.stop = true;
    await this.loop;
  }
}
