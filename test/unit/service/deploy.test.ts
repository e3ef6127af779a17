/**
 * The Kubernetes manifests in gpu-service/deploy/ are parsed and checked against what the
 * service really does (probe routes, port, env vars the config knows, the metric the HPA reads).
 * The Dockerfile is not built here (no container engine in this environment): it is parsed
 * (dockerfile-ast) and its pinning, checksum and CUDA-provider steps are checked.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../gpu-service/src/config.js';
import { createServiceMetrics } from '../../../gpu-service/src/metrics/service-metrics.js';
import { contextCopySources, dockerfile, globalArgs } from '../deploy/dockerfile.js';
import { loadManifests } from '../deploy/k8s-validate.js';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'gpu-service', 'deploy');

type Doc = any;

const manifests = loadManifests(DEPLOY).map(({ file, doc }): Doc => ({ ...doc, __file: file }));
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

describe('gpu-service/Dockerfile', () => {
  const stages = dockerfile.getFROMs();
  const args = globalArgs();
  const runsOf = (stage: string) => dockerfile.getInstructions()
    .filter((instruction) => instruction.getKeyword() === 'RUN' && dockerfile.getContainingImage(instruction.getRange().start)?.getFROMs()[0]?.getBuildStage() === stage)
    .map((instruction) => instruction.getRawArgumentsContent() ?? '');

  it('pulls every base image by digest: a literal sha256 or a required build argument', () => {
    const stageNames = new Set<string>();
    for (const from of stages) {
      const image = from.getImageName()!;
      if (image === 'scratch' || stageNames.has(image)) {
        stageNames.add(from.getBuildStage()!);
        continue;
      }
      const digest = from.getImageDigest();
      expect(digest, `FROM ${from.getImage()} has a digest`).toEqual(expect.any(String));
      const argName = digest!.match(/^\$\{?(\w+)\}?$/)?.[1];
      if (argName) {
        expect(args.has(argName), `${argName} is declared before the first FROM`).toBe(true);
        expect(args.get(argName), `${argName} has no default: the build needs it`).toBeNull();
      } else {
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      }
      stageNames.add(from.getBuildStage()!);
    }
    expect(stages.map((from) => from.getBuildStage())).toEqual(expect.arrayContaining(['cpu', 'gpu']));
    // a `# syntax=` frontend is an image too: pinned by digest, or none
    for (const directive of dockerfile.getDirectives().filter((d) => d.getName() === 'syntax')) expect(directive.getValue()).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('installs Node in the GPU image only after checking the tarball sha256', () => {
    expect(args.get('NODE_TARBALL_SHA256')).toMatch(/^[0-9a-f]{64}$/);
    const install = runsOf('gpu').find((run) => run.includes('nodejs.org/dist/'));
    expect(install).toBeDefined();
    const order = ['nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz', '${NODE_TARBALL_SHA256}', 'sha256sum -c', 'tar -xJf'].map((step) => install!.indexOf(step));
    expect(order.every((at) => at >= 0), `steps in ${install}`).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(install).not.toMatch(/\|\s*tar/); // never piped into tar unchecked
  });

  it('fails the GPU image build unless the CUDA provider resolves with the image CUDA major', () => {
    expect(contextCopySources()).toContain('gpu-service/deploy/check-cuda-provider.mjs');
    const check = runsOf('gpu').find((run) => run.includes('check-cuda-provider.mjs'));
    expect(check).toContain('"${CUDA_VERSION%%.*}"');
    expect(check).toContain('/linux/x64');
  });

  it('keeps only linux/x64 of the onnxruntime-node binaries in both dependency stages', () => {
    for (const stage of ['deps-cpu', 'deps-gpu']) {
      const install = runsOf(stage).find((run) => run.includes('npm ci'));
      expect(install, stage).toMatch(/find "\$\{ORT_BIN\}" -mindepth 2 -maxdepth 2 ! -path "\$\{ORT_BIN\}\/linux\/x64" -exec rm -rf \{\} \+/);
    }
    expect(args.get('ORT_BIN')).toBe('node_modules/onnxruntime-node/bin/napi-v6');
    // the path is where the installed package keeps its binaries
    expect(readdirSync(join(import.meta.dirname, '..', '..', '..', args.get('ORT_BIN')!, 'linux'))).toContain('x64');
  });
});
