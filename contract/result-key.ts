/**
 * The result cache key: the same model, image bytes, phrases (as the tokenizer cleans them) and
 * options always give the same key; anything else gives another.
 *
 * On the edge a result belongs to the account (API key id) that paid for it, so its id is
 * `tenantResultKey`: 48 hex characters of content hash over the tenant and the request, then a
 * 16-hex owner tag over the tenant and that hash. The same request from another key is another
 * id (a miss, computed and billed for that key), and `isOwnedBy` tells from an id alone whether a
 * key may read it: another key's id is a 404 without any lookup.
 */
import { cleanText } from './text.js';
import { sha256Hex } from './hmac.js';
import type { SegmentOptions } from './segment.js';

export interface ResultKeyInput {
  /** `<model id>@<version>`. */
  model: string;
  imageSha256: string;
  phrases: readonly string[];
  options: SegmentOptions;
}

function canonical(input: ResultKeyInput, tenant: string | null): string {
  return JSON.stringify([
    'cris-result/2', // 2: results carry found, presence and regions; options carry presence_threshold
    input.model,
    input.imageSha256,
    input.phrases.map(cleanText),
    input.options.format,
    input.options.threshold ?? null,
    input.options.presence_threshold ?? null,
    // Only when set, so the keys of requests without it stay what they were.
    ...(input.options.original_size ? [[input.options.original_size.width, input.options.original_size.height]] : []),
    ...(tenant === null ? [] : [tenant]),
  ]);
}

/** What the tenant-free key hashes (a runtime with a synchronous sha256 hashes it itself). */
export function resultKeyMaterial(input: ResultKeyInput): string {
  return canonical(input, null);
}

/** The tenant-free key (the GPU service's own, for a request that names none): hex sha256 of resultKeyMaterial. */
export async function resultKey(input: ResultKeyInput): Promise<string> {
  return sha256Hex(resultKeyMaterial(input));
}

const CONTENT_HEX = 48;

async function ownerTag(tenant: string, content: string): Promise<string> {
  return (await sha256Hex(JSON.stringify(['cris-owner/1', tenant, content]))).slice(0, 64 - CONTENT_HEX);
}

/** The key of a result computed for `tenant` (an API key id): 64 hex, bound to that tenant. */
export async function tenantResultKey(tenant: string, input: ResultKeyInput): Promise<string> {
  const content = (await sha256Hex(canonical(input, tenant))).slice(0, CONTENT_HEX);
  return content + (await ownerTag(tenant, content));
}

/** Whether `id` (64 hex) is a result key of `tenant`. */
export async function isOwnedBy(id: string, tenant: string): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(id)) return false;
  const content = id.slice(0, CONTENT_HEX);
  return id.slice(CONTENT_HEX) === (await ownerTag(tenant, content));
}
