/**
 * The order in which queued requests leave for a batch: deficit round-robin across tenants
 * (Shreedhar & Varghese), FIFO within a tenant. Each visit to a tenant with work adds
 * `quantum` rows to its deficit; its oldest request leaves when its rows fit the deficit (and
 * the batch). So a tenant with many large requests gets the same rows per round as a tenant
 * with one small request, and the small one never waits behind the whole large backlog.
 */

export interface FairItem {
  tenant: string;
  rows: number;
}

export class TenantQueues<T extends FairItem> {
  private readonly queues = new Map<string, T[]>();
  /** Tenants with queued work, in visiting order; the head is visited next. */
  private readonly active: string[] = [];
  private readonly deficit = new Map<string, number>();

  constructor(private readonly quantum: number) {
    if (quantum < 1) throw new RangeError('TenantQueues: quantum must be >= 1');
  }

  /** Items queued, all tenants together. */
  get size(): number {
    let size = 0;
    for (const queue of this.queues.values()) size += queue.length;
    return size;
  }

  push(item: T): void {
    const queue = this.queues.get(item.tenant);
    if (queue) {
      queue.push(item);
      return;
    }
    this.queues.set(item.tenant, [item]);
    this.active.push(item.tenant);
    this.deficit.set(item.tenant, 0);
  }

  /** Removes an item wherever it waits (a dropped request); false when it is not queued. */
  remove(item: T): boolean {
    const queue = this.queues.get(item.tenant);
    const index = queue?.indexOf(item) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.retire(item.tenant);
    return true;
  }

  /**
   * Takes the next batch: at most `maxRows` rows (a larger request leaves alone), at least one
   * request when any is queued.
   */
  take(maxRows: number): T[] {
    const batch: T[] = [];
    let rows = 0;
    let idleVisits = 0; // consecutive visits that took nothing
    while (this.active.length > 0 && idleVisits < this.active.length) {
      const tenant = this.active[0];
      const queue = this.queues.get(tenant)!;
      let deficit = this.deficit.get(tenant)! + this.quantum;
      let took = false;
      while (queue.length > 0 && queue[0].rows <= deficit && (batch.length === 0 || rows + queue[0].rows <= maxRows)) {
        const item = queue.shift()!;
        deficit -= item.rows;
        rows += item.rows;
        batch.push(item);
        took = true;
      }
      if (queue.length === 0) {
        this.retire(tenant);
      } else {
        // The batch is full or the tenant's next request needs a later visit: keep what is
        // left of the deficit and move the tenant to the back.
        this.deficit.set(tenant, deficit);
        this.active.push(this.active.shift()!);
      }
      if (rows >= maxRows) break;
      idleVisits = took ? 0 : idleVisits + 1;
      // With an empty batch, keep visiting: deficits grow until some request fits.
      if (batch.length === 0) idleVisits = 0;
    }
    return batch;
  }

  private retire(tenant: string): void {
    this.queues.delete(tenant);
    this.deficit.delete(tenant);
    const index = this.active.indexOf(tenant);
    if (index >= 0) this.active.splice(index, 1);
  }
}
