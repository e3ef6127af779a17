/**
 * Image-feature LRU, keyed by owner and image (batch-executor.ts featureKey: never shared
 * between tenants), bounded in entries and in bytes (whichever limit is reached first evicts the
 * least recently used entries). Lives inside a worker thread: features never cross a thread
 * boundary.
 */
import type { ImageFeatures } from '../core/types.js';

export interface FeatureCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

export function featureBytes(features: ImageFeatures): number {
  let bytes = 0;
  for (const tensor of Object.values(features.tensors)) bytes += tensor.data.byteLength;
  return bytes;
}

export class FeatureCache {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, { features: ImageFeatures; bytes: number }>();
  private totalBytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly limits: FeatureCacheLimits) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string): ImageFeatures | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.features;
  }

  set(key: string, features: ImageFeatures): void {
    const bytes = featureBytes(features);
    if (this.limits.maxEntries === 0 || bytes > this.limits.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous) {
      this.totalBytes -= previous.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { features, bytes });
    this.totalBytes += bytes;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.totalBytes <= this.limits.maxBytes) break;
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
    }
  }
}
