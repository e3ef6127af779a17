/**
 * The Kubernetes manifests in gpu-service/deploy/ are parsed and checked against what the
 * service really does (probe routes, port, env vars the config knows, the metric the HPA reads).
 * The Dockerfile is not built here: there is no container engine in this environment.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../gpu-service/src/config.js';
import { createServiceMetrics } from '../../../gpu-service/src/metrics/service-metrics.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'gpu-service', 'deploy');

type Doc = any;

function loadManifests(): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(DEPLOY).filter((name) => /\.ya?ml$/.test(name))) {
    for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))) {
      expect(doc.errors, `${file} parses`).toEqual([]);
      const value = doc.toJS();
      if (value) docs.push({ ...value, __file: file });
    }
  }
  return docs;
}

const manifests = loadManifests();
const byKind = (kind: string) => manifests.filter((doc) => doc.kind === kind);
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('gpu-service/deploy manifests', () => {
  const [deployment] = byKind('Deployment');
  const pod = deployment?.spec?.template;
  const container = pod?.spec?.containers?.[0];

  it('every document has apiVersion, kind and metadata.name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(4);
    for (const doc of manifests) {
      expect(doc.apiVersion, doc.__file).toEqual(expect.any(String));
      expect(doc.kind, doc.__file).toEqual(expect.any(String));
      expect(doc.metadata?.name, doc.__file).toEqual(expect.any(String));
    }
  });

  it('the Deployment requests a GPU and sets resources', () => {
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(Number(container.resources.requests['nvidia.com/gpu'])).toBeGreaterThanOrEqual(1);
    expect(Number(container.resources.limits['nvidia.com/gpu'])).toBe(Number(container.resources.requests['nvidia.com/gpu']));
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
  });

  it('probes the service routes on the port the service listens on', () => {
    const env = Object.fromEntries(container.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, String(e.value)]));
    const port = container.ports.find((p: Doc) => p.name === 'http');
    expect(port.containerPort).toBe(Number(env.CRIS_PORT));
    expect(env.CRIS_HOST).toBe('0.0.0.0');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect([port.name, port.containerPort]).toContain(probe.httpGet.port);
    }
  });

  it('configures the service with variables its config accepts, the secret from a Secret', () => {
    const env: Record<string, string> = {};
    for (const entry of container.env) {
      if ('value' in entry) env[entry.name] = String(entry.value);
      else {
        expect(entry.valueFrom.secretKeyRef.name).toEqual(expect.any(String));
        env[entry.name] = 'from-a-kubernetes-secret';
      }
    }
    expect(container.env.find((e: Doc) => e.name === 'CRIS_HMAC_SECRET').valueFrom.secretKeyRef).toBeDefined();
    for (const name of Object.keys(env)) expect(name, 'only CRIS_* variables').toMatch(/^CRIS_/);
    const config = loadConfig(env);
    expect(config.provider).toBe('cuda');
    expect(config.insecureNoAuth).toBe(false);
    // the pod's grace period outlasts the queue drain on SIGTERM
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
  });

  it('a Service selects the pods and targets the container port', () => {
    const [service] = byKind('Service');
    expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    const target = service.spec.ports[0].targetPort;
    expect(container.ports.some((p: Doc) => p.name === target || p.containerPort === target)).toBe(true);
  });

  it('the HPA scales the Deployment on the queue-depth metric the service exports', async () => {
    const [hpa] = byKind('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const metric = hpa.spec.metrics.find((m: Doc) => m.type === 'Pods');
    const text = await createServiceMetrics().registry.metrics();
    expect(text).toContain(`# TYPE ${metric.pods.metric.name} gauge`);
    expect(Number(metric.pods.target.averageValue)).toBeGreaterThan(0);
  });

  it('the PodDisruptionBudget covers the same pods', () => {
    const [pdb] = byKind('PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(byKind('HorizontalPodAutoscaler')[0].spec.minReplicas + 1);
  });
});
