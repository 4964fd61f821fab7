/**
 * A bounded, insertion-ordered set of event ids this process has already
 * handed to Temporal. A redelivery of one of them (the ack was lost) is
 * acked without a second signal. It is only an optimisation: the incident
 * itself deduplicates by event id, which also covers other intake processes.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  /** @param limit most ids remembered; the oldest are forgotten first. */
  constructor(private readonly limit = 10_000) {}

  /** Whether `id` was remembered and not yet forgotten. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`, forgetting the oldest past the limit. */
  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.limit) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}
