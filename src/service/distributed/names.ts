/** Redis names the API processes and workers agree on, all under one key prefix. */
export interface DistributedNames {
  /** The BullMQ queue (its keys are `<prefix>:<queue>:…`). */
  queue: string;
  /** Pub/sub channel of cancel messages (the message is the job id). */
  cancelChannel: string;
  /** Pub/sub channel of one job's events (each message a JSON `JobEvent`). */
  eventChannel(jobId: string): string;
  /**
   * Sorted set of a running job's events not yet in PostgreSQL (score: the event id; member: the
   * JSON `JobEvent`): what a stream that joins between two checkpoints has missed.
   */
  pendingEvents(jobId: string): string;
  /** Set while a runner's events of the job are taken (`EventBus.open`); a batch arriving once it is gone is dropped. */
  openEvents(jobId: string): string;
  /** Sorted set of one client's jobs held back by MAX_JOBS_PER_CLIENT (member: job id; score: its creation order). */
  heldSet(owner: string): string;
}

export function names(prefix: string): DistributedNames {
  return {
    queue: "jobs",
    cancelChannel: `${prefix}:cancel`,
    eventChannel: (jobId) => `${prefix}:events:${jobId}`,
    heldSet: (owner) => `${prefix}:held:${owner}`,
    pendingEvents: (jobId) => `${prefix}:pending:${jobId}`,
    openEvents: (jobId) => `${prefix}:open:${jobId}`,
  };
}
