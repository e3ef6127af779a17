/**
 * The whole stack on loopback for the mobile tests and `npm run bench:mobile`: s3rver, the GPU
 * service on CPU (the test bundle), wrangler dev pointed at both (with the bundle's input size
 * for GET /v1/models), and a `bench` key made with the key CLI (it has a webhook secret).
 * Ports: s3rver on `port`, the service on port + 1, the edge on port + 2 (its inspector + 3).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyRecord } from '../../functions/src/auth/key-record.js';
import { edgeVars, seedApiKey, startEdge, type EdgeHandle } from './edge-process.js';
import { defaultTestBundle, startS3rver, startService, type S3rverHandle, type ServiceHandle } from './service-process.js';

export interface MobileStack {
  s3: S3rverHandle;
  service: ServiceHandle;
  edge: EdgeHandle;
  apiKey: string;
  record: KeyRecord;
  /** `<id>@<version>` and input side of the bundle served. */
  model: string;
  inputSize: number;
  /** Another key, for the per-key scoping checks. */
  other: { apiKey: string; record: KeyRecord };
  stop(): Promise<void>;
}

export async function startMobileStack(port: number, bundleDir = defaultTestBundle()): Promise<MobileStack> {
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { id: string; version: string; input: { size: number } };
  const model = `${manifest.id}@${manifest.version}`;
  const secret = 'mobile-stack-secret-0123456789';
  const persistTo = mkdtempSync(join(tmpdir(), 'cris-mobile-'));
  const handles: { s3?: S3rverHandle; service?: ServiceHandle; edge?: EdgeHandle } = {};
  const stop = async () => {
    await handles.edge?.stop();
    await handles.service?.stop(5000);
    await handles.s3?.close();
    rmSync(persistTo, { recursive: true, force: true });
  };
  try {
    handles.s3 = await startS3rver({ port });
    const s3 = handles.s3;
    // The key CLI blocks this process while it runs (spawnSync), so it runs before anything is
    // polled for readiness, and before wrangler dev starts (both use the same state folder).
    const key = await seedApiKey({ persistTo, plan: 'bench' });
    const other = await seedApiKey({ persistTo, plan: 'bench' });
    const service = await startService({ port: port + 1, bundleDir, secret, env: s3.env });
    handles.service = service;
    const vars = { ...edgeVars({ gpuUrls: [service.url], hmacSecret: secret, s3: s3.config, model, gpuTimeoutMs: 60_000 }), MODEL_INPUT_SIZE: String(manifest.input.size) };
    handles.edge = await startEdge({ port: port + 2, persistTo, vars, readyTimeoutMs: 120_000 });
    return {
      s3,
      service,
      edge: handles.edge,
      apiKey: key.apiKey,
      record: key.record,
      model,
      inputSize: manifest.input.size,
      other,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
