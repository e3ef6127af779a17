/**
 * The capacity model of gpu-service/README.md, computed from a GPU-run JSON (bench/results/):
 *   npx tsx bench/gpu-run/capacity.ts bench/results/gpu-run-h200.json [--provider cuda] [--price 3.5] [--ignore-slo]
 * Prints the measured points and, for 1,000 and 10,000 image-phrases/s at hit rates h, the
 * replicas, the edge and service request rates and the cost per 1,000 phrases (formula in the README).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    provider: { type: 'string' },
    price: { type: 'string', default: '3.5' },
    p99: { type: 'string', default: '300' },
    utilisation: { type: 'string', default: '0.7' },
    /** Take X as the best throughput measured even when its p99 misses the SLO (an arithmetic example). */
    'ignore-slo': { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) throw new Error('usage: capacity.ts RESULT.json [--provider P] [--price USD_PER_GPU_HOUR] [--p99 MS] [--utilisation U]');

interface Point { concurrency: number; throughput: number; p50: number; p99: number; errors: number }
interface Graph { bundle: string; batch: number; p50_ms: number; p99_ms: number; image_phrases_per_s: number }
interface ProviderResult {
  available: boolean;
  graph: Graph[];
  service?: { rn50_bundle: string; max_batch: number; c32_batching_on: Point; c32_batching_off: Point; shipped: Point[] };
}

const result = JSON.parse(readFileSync(positionals[0], 'utf8')) as { label: string; date: string; environment: { gpu?: { name: string } | null; cpu: string }; providers: Record<string, ProviderResult> };
const provider = values.provider ?? (['cuda', 'webgpu', 'cpu'].find((p) => result.providers[p]?.available && result.providers[p].service) as string);
const r = result.providers[provider];
if (!r?.service) throw new Error(`no service measurement for provider ${provider} in ${positionals[0]}`);
const price = Number(values.price);
const slo = Number(values.p99);
const u = Number(values.utilisation);

// X: what one replica sustains within the p99 SLO, from the service's RN50 points (one phrase per request).
const servicePoints = [r.service.c32_batching_on, r.service.c32_batching_off];
const withinSlo = servicePoints.filter((p) => p.p99 <= slo && p.errors === 0);
const xService = withinSlo.length ? Math.max(...withinSlo.map((p) => p.throughput)) : null;
// Upper bound from the graphs alone: the best batch whose graph p99 leaves half the SLO for queueing.
const graphOk = r.graph.filter((g) => g.bundle === 'rn50-' + r.service!.rn50_bundle.split('-').pop() && g.p99_ms <= slo / 2);
const xGraph = graphOk.length ? Math.max(...graphOk.map((g) => g.image_phrases_per_s)) : null;
const xAny = Math.max(...servicePoints.filter((p) => p.errors === 0).map((p) => p.throughput));
const x = xService ?? xGraph ?? (values['ignore-slo'] ? xAny : null);

const lines: string[] = [];
lines.push(`Source: ${positionals[0]} (${result.label}, ${result.date.slice(0, 10)}, ${result.environment.gpu?.name ?? result.environment.cpu}), provider ${provider}, RN50 bundle ${r.service.rn50_bundle}.`);
lines.push('');
lines.push(`| service point (${r.service.rn50_bundle}) | req/s | p50 ms | p99 ms | errors |`);
lines.push('| --- | --- | --- | --- | --- |');
for (const [name, p] of [[`c=32 batching on (max ${r.service.max_batch})`, r.service.c32_batching_on], ['c=32 batching off', r.service.c32_batching_off]] as const) {
  lines.push(`| ${name} | ${p.throughput.toFixed(1)} | ${p.p50.toFixed(0)} | ${p.p99.toFixed(0)} | ${p.errors} |`);
}
lines.push('');
lines.push(`X (one replica, p99 <= ${slo} ms): ${xService !== null ? `${xService.toFixed(1)} image-phrases/s from the service` : `no service point within the SLO; graph bound ${xGraph === null ? 'none' : xGraph.toFixed(1)} image-phrases/s (best batch with graph p99 <= ${slo / 2} ms)`}.`);
if (xService === null && xGraph === null && values['ignore-slo']) {
  lines.push(`--ignore-slo: X = ${xAny.toFixed(1)} image-phrases/s, the best throughput measured, although its p99 misses ${slo} ms: the table below is an example of the arithmetic, not a capacity.`);
}
lines.push(`Utilisation target u = ${u}; price $${price.toFixed(2)} per GPU-hour (an assumption, not a measurement).`);
lines.push('');
if (x === null || x <= 0) {
  lines.push('No capacity: nothing measured meets the SLO.');
} else {
  lines.push('| image-phrases/s | h | edge req/s | service req/s | replicas | $ per 1,000 phrases |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const demand of [1000, 10_000]) {
    for (const h of [0, 0.3, 0.6, 0.9]) {
      const service = demand * (1 - h);
      const replicas = Math.max(1, Math.ceil(service / (u * x))) + 1; // +1: one replica may be down
      const cost = (replicas * price) / (demand * 3600) * 1000;
      lines.push(`| ${demand.toLocaleString('en')} | ${h} | ${demand.toLocaleString('en')} | ${Math.round(service).toLocaleString('en')} | ${replicas} | ${cost.toFixed(4)} |`);
    }
  }
}
process.stdout.write(lines.join('\n') + '\n');
