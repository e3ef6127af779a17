/**
 * gpu-service/deploy/ validated like `kubectl apply --validate=strict` would, offline: every
 * document against the Kubernetes schemas (kubernetes-models: ajv validators + strict unknown-field
 * check), the namespace they use created by the folder itself, and the autoscaling chain whole:
 * the service's gauge -> the prometheus-adapter rule (the file the adapter loads with --config,
 * and the Helm chart values that render it) -> the custom metric the HPA reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createServiceMetrics } from '../../../gpu-service/src/metrics/service-metrics.js';
import { ROOT } from './dockerfile.js';
import { loadManifests, schemaErrors, strictFieldErrors, type Manifest } from './k8s-validate.js';

const DEPLOY = join(ROOT, 'gpu-service', 'deploy');
const manifests = loadManifests(DEPLOY);
const ofKind = (kind: string) => manifests.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
const clone = <T>(value: T): T => structuredClone(value);

describe('Kubernetes manifests (gpu-service/deploy)', () => {
  it('every document is valid against its kind schema', () => {
    expect(manifests.map(({ doc }) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual(
      ['Deployment/cris-gpu-service', 'HorizontalPodAutoscaler/cris-gpu-service', 'Namespace/cris', 'PodDisruptionBudget/cris-gpu-service', 'Service/cris-gpu-service'],
    );
    for (const { file, doc } of manifests) expect(schemaErrors(doc), file).toBe('');
  });

  it('no document has a field the schemas do not know (strict)', () => {
    expect(strictFieldErrors(manifests)).toEqual([]);
  }, 60_000);

  it('the validators fail on what kubectl would refuse', () => {
    const deployment = manifests.find(({ doc }) => doc.kind === 'Deployment')!;
    const unknownDeep = clone(deployment);
    unknownDeep.doc.spec.template.spec.containers[0].resources.request = { cpu: '1' };
    const typo = clone(deployment);
    typo.doc.spec.replica = 2;
    const hpa = manifests.find(({ doc }) => doc.kind === 'HorizontalPodAutoscaler')!;
    const unknownInHpa = clone(hpa);
    unknownInHpa.doc.spec.metrics[0].pods.metric.selectorr = {};
    const errors = strictFieldErrors([unknownDeep, typo, unknownInHpa] as Manifest[]);
    expect(errors.join('\n')).toMatch(/'"?request"?' does not exist in type 'IResourceRequirements'/);
    expect(errors.join('\n')).toMatch(/'"?replica"?' does not exist in type 'IDeploymentSpec'/);
    expect(errors.join('\n')).toMatch(/'"?selectorr"?' does not exist in type 'IMetricIdentifier'/);
    const missingName = clone(deployment.doc);
    delete missingName.spec.template.spec.containers[0].name;
    expect(schemaErrors(missingName)).toMatch(/name/);
    const badEnum = clone(deployment.doc);
    badEnum.spec.replicas = 'two';
    expect(schemaErrors(badEnum)).not.toBe('');
    expect(schemaErrors({ apiVersion: 'v1', kind: 'Secretz', metadata: { name: 'x' } })).toMatch(/no schema/);
  }, 60_000);

  it('creates the namespace everything else lives in, before the rest (file order)', () => {
    const [namespace] = ofKind('Namespace');
    expect(namespace).toBeDefined();
    for (const { file, doc } of manifests.filter(({ doc }) => doc.kind !== 'Namespace')) {
      expect(doc.metadata.namespace, file).toBe(namespace.metadata.name);
    }
    expect(manifests[0].doc.kind).toBe('Namespace'); // kubectl apply -f <dir> goes in file-name order
  });
});

describe('autoscaling chain: gauge -> prometheus-adapter rule -> HPA metric', () => {
  const config = parse(readFileSync(join(DEPLOY, 'prometheus-adapter', 'config.yaml'), 'utf8'));
  const values = parse(readFileSync(join(DEPLOY, 'prometheus-adapter', 'values.yaml'), 'utf8'));
  const [rule] = config.rules;
  const [hpa] = ofKind('HorizontalPodAutoscaler');
  const [deployment] = ofKind('Deployment');
  const metric = hpa.spec.metrics.find((m: any) => m.type === 'Pods');

  it('the Helm values render the same rule as the --config file', () => {
    expect(Object.keys(config)).toEqual(['rules']);
    expect(values.rules.custom).toEqual(config.rules);
    expect(values.prometheus.url).toMatch(/^https?:\/\//);
  });

  it('the rule has only fields of the adapter config format and aggregates by <<.GroupBy>>', () => {
    // prometheus-adapter docs/config.md: seriesQuery, seriesFilters, resources, name, metricsQuery
    for (const key of Object.keys(rule)) expect(['seriesQuery', 'seriesFilters', 'resources', 'name', 'metricsQuery']).toContain(key);
    for (const key of Object.keys(rule.resources)) expect(['overrides', 'template', 'namespaced']).toContain(key);
    expect(Object.keys(rule.name).sort()).toEqual(['as', 'matches']);
    expect(rule.metricsQuery).toMatch(/\bby \(<<\.GroupBy>>\)/);
    expect(rule.metricsQuery).toContain('<<.Series>>{<<.LabelMatchers>>}');
    expect(rule.resources.overrides).toEqual({ namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
  });

  it('selects the gauge the service exports and exposes it under the name the HPA reads', async () => {
    const series = rule.seriesQuery.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{/)?.[1];
    expect(await createServiceMetrics().registry.metrics()).toContain(`# TYPE ${series} gauge`);
    expect(rule.seriesQuery).toMatch(/namespace!=""/);
    expect(rule.seriesQuery).toMatch(/pod!=""/);
    const exposed = series!.replace(new RegExp(rule.name.matches), rule.name.as);
    expect(metric.pods.metric.name).toBe(exposed);
    expect(hpa.metadata.namespace).toBe(deployment.metadata.namespace);
    // the pods are scraped by Prometheus' annotation-driven kubernetes-pods job
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics' });
  });
});
