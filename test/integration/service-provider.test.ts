/**
 * The execution provider is asserted by the running service: /v1/models and /metrics report the
 * one in use, the start-up log says which was asked for and why it was chosen, and a GPU provider
 * that cannot be used stops the process (no silent CPU fallback).
 */
import { describe, expect, it } from 'vitest';
import { startService } from '../helpers/service-process.js';

const PORT = 18170;

interface LogLine {
  message: string;
  provider?: string;
  requested?: string;
  provider_note?: string;
  error?: string;
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('GPU service execution provider', () => {
  it('auto: reports the provider in use in /v1/models, /metrics and the start-up log, saying why', async () => {
    const service = await startService({ port: PORT, env: { CRIS_PROVIDER: 'auto' }, readyTimeoutMs: 120_000 });
    try {
      const models = (await (await fetch(`${service.url}/v1/models`)).json()) as { models: { provider: string }[] };
      const provider = models.models[0].provider;
      expect(['cuda', 'cpu']).toContain(provider); // auto never picks WebGPU (gpu-service/README.md)
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toContain(`cris_execution_provider{provider="${provider}"} 1`);
      expect(metrics.match(/^cris_execution_provider\{/gm)).toHaveLength(1);
      const backend = logLines(service.logs()).find((line) => line.message === 'inference backend');
      expect(backend).toMatchObject({ provider, requested: 'auto' });
      expect(backend?.provider_note).toContain(`onnxruntime ${provider} provider`);
      if (provider === 'cpu') expect(backend?.provider_note).toMatch(/CUDA execution provider unavailable \(.+\); using CPU/);
    } finally {
      await service.stop();
    }
  }, 150_000);

  it('webgpu without a WebGPU adapter: the process fails at start and says why', async () => {
    let started: Awaited<ReturnType<typeof startService>> | undefined;
    let failure = '';
    try {
      started = await startService({ port: PORT + 1, env: { CRIS_PROVIDER: 'webgpu' }, readyTimeoutMs: 120_000 });
    } catch (error) {
      failure = String(error);
    }
    if (started) {
      // Dawn found an adapter on this machine: then the service must really run on WebGPU.
      const models = (await (await fetch(`${started.url}/v1/models`)).json()) as { models: { provider: string }[] };
      expect(models.models[0].provider).toBe('webgpu');
      await started.stop();
      return;
    }
    expect(failure).toMatch(/exited with 1 before it was ready/);
    const refused = logLines(failure.slice(failure.indexOf('\n') + 1)).find((line) => line.message === 'worker threads failed to start');
    expect(refused?.error).toMatch(/execution provider webgpu cannot be used: .*adapter/i);
    expect(failure).not.toContain('"message":"ready"');
  }, 150_000);
});
