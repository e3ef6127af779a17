/**
 * Building signed `POST /v1/segment` requests the way the edge sends them: a multipart body,
 * HMAC-signed over its exact bytes (contract/hmac.ts).
 */
import { signRequest } from '../../contract/hmac.js';
import { resultKey } from '../../contract/result-key.js';
import { sha256Hex } from '../../contract/hmac.js';
import type { SegmentOptions } from '../../contract/segment.js';

export interface SegmentForm {
  image?: Uint8Array | Blob;
  imageType?: string;
  texts?: string[];
  /** Sent as the `options` JSON field; `resultKey` is computed when `model` is given and it is absent. */
  options?: Record<string, unknown>;
}

export async function multipartBody(fields: SegmentForm): Promise<{ body: Uint8Array<ArrayBuffer>; contentType: string }> {
  const form = new FormData();
  if (fields.image) {
    const blob = fields.image instanceof Blob ? fields.image : new Blob([fields.image as BlobPart], { type: fields.imageType ?? 'image/png' });
    form.append('image', blob, 'image');
  }
  for (const text of fields.texts ?? []) form.append('text', text);
  if (fields.options) form.append('options', JSON.stringify(fields.options));
  const response = new Response(form);
  return {
    body: new Uint8Array(await response.arrayBuffer()),
    contentType: response.headers.get('content-type')!,
  };
}

/** The edge's result key for these inputs. */
export async function edgeResultKey(model: string, image: Uint8Array, texts: string[], options: Partial<SegmentOptions> = {}): Promise<string> {
  return resultKey({
    model,
    imageSha256: await sha256Hex(image),
    phrases: texts,
    options: { format: options.format ?? 'polygon', threshold: options.threshold },
  });
}

/** What a test may set of the signed context (contract/hmac.ts); defaults: tenant `key_test`, deadline in 30 s. */
export interface SignOverrides {
  tenant?: string;
  deadlineMs?: number;
  requestId?: string;
  nowSeconds?: number;
}

/** The signature headers the edge would send for this body. */
export function signedHeaders(secret: string, body: Uint8Array, sign: SignOverrides = {}, path = '/v1/segment') {
  return signRequest(secret, {
    method: 'POST',
    path,
    body,
    tenant: sign.tenant ?? 'key_test',
    deadlineMs: sign.deadlineMs ?? Date.now() + 30_000,
    requestId: sign.requestId,
    nowSeconds: sign.nowSeconds,
  });
}

/** RequestInit of a signed segment request (`secret` undefined: unsigned). */
export async function segmentInit(
  fields: SegmentForm,
  secret: string | undefined,
  extraHeaders: Record<string, string> = {},
  path = '/v1/segment',
  sign: SignOverrides = {},
): Promise<RequestInit & { body: Uint8Array<ArrayBuffer> }> {
  const { body, contentType } = await multipartBody(fields);
  const signature = secret ? await signedHeaders(secret, body, sign, path) : {};
  return {
    method: 'POST',
    headers: { 'content-type': contentType, ...signature, ...extraHeaders },
    body,
  };
}
