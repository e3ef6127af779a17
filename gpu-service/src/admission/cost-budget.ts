/**
 * Admission by cost, before any decoding or inference: a request costs
 * ceil(megapixels) x phrases units (post-processing upsamples every phrase's mask to the
 * original size, so pixels x phrases is what the CPU and GPU pay). Each tenant may have at most
 * `perTenant` units admitted and not yet answered, and all tenants together `global`; past
 * either, 429 overloaded with Retry-After. A tenant with nothing admitted always gets one
 * request in (a single large request can exceed the per-tenant budget), unless the global budget
 * is spent.
 */
import { ApiError } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';

/** Units admitted at once, per tenant and in all (CRIS_TENANT_COST_BUDGET, CRIS_GLOBAL_COST_BUDGET). */
export const DEFAULT_COST_BUDGET = { perTenant: 256, global: 2048 };

export interface CostBudgetOptions {
  perTenant: number;
  global: number;
  retryAfterSeconds?: number;
}

/** Units of a request: ceil(megapixels) x phrases; an unreadable header counts as the largest image. */
export function requestCost(pixels: number | undefined, phrases: number): number {
  const megapixels = Math.max(1, Math.ceil((pixels ?? LIMITS.maxImagePixels) / 1_000_000));
  return megapixels * Math.max(1, phrases);
}

export class CostBudget {
  private readonly byTenant = new Map<string, number>();
  private total = 0;
  /** Requests refused, by reason (metrics). */
  readonly refused = { tenant: 0, global: 0 };

  constructor(private readonly options: CostBudgetOptions) {
    if (options.perTenant < 1 || options.global < 1) throw new RangeError('CostBudget: budgets must be >= 1');
  }

  /** Units admitted and not released. */
  get inUse(): number {
    return this.total;
  }

  usedBy(tenant: string): number {
    return this.byTenant.get(tenant) ?? 0;
  }

  /** Admits `cost` units for `tenant` or throws 429 overloaded; the returned function releases them (once). */
  admit(tenant: string, cost: number): () => void {
    const used = this.usedBy(tenant);
    const retryAfter = this.options.retryAfterSeconds ?? 1;
    if (used > 0 && used + cost > this.options.perTenant) {
      this.refused.tenant++;
      throw new ApiError('overloaded', `this key has ${used} cost units in progress (budget ${this.options.perTenant}); retry later`, retryAfter);
    }
    if (this.total > 0 && this.total + cost > this.options.global) {
      this.refused.global++;
      throw new ApiError('overloaded', 'the GPU tier is at its cost budget; retry later', retryAfter);
    }
    this.byTenant.set(tenant, used + cost);
    this.total += cost;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.usedBy(tenant) - cost;
      if (left > 0) this.byTenant.set(tenant, left);
      else this.byTenant.delete(tenant);
      this.total -= cost;
    };
  }
}
