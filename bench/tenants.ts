/**
 * Fair sharing of the GPU tier between two keys, through the real stack (s3rver, the GPU service
 * on CPU, wrangler dev): the light key (the sample scenes x 1 phrase, every request a miss) alone,
 * then with a heavy key (large images x 16 phrases) beside it, c=16 in all (8 + 8).
 * Prints the light key's p50 / p99 and error rate in both phases as a table.
 *
 *   npm run bench:tenants                      # 60 s a phase
 *   BENCH_SECONDS=20 npm run bench:tenants     # shorter
 *   (run it inside netns-run where ports are shared)
 */
import { cpus, loadavg } from 'node:os';
import { heavyRequests, largeImage, lightRequests, runLoad, startTenantStack, type LoadResult } from '../test/helpers/tenant-load.js';
import { percentile } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const GPU_TIMEOUT_MS = Number(process.env.BENCH_GPU_TIMEOUT_MS ?? 30_000);
const CONCURRENCY = 16;

function row(label: string, light: LoadResult): string {
  const sorted = [...light.latencies].sort((a, b) => a - b);
  const errors = sorted.length - (light.statuses.get(200) ?? 0);
  const codes = [...light.statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
  return `| ${label} | ${sorted.length} | ${Math.round(percentile(sorted, 50))} | ${Math.round(percentile(sorted, 99))} | ${((100 * errors) / Math.max(1, sorted.length)).toFixed(1)} % | ${codes} |`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const eta = () => `ETA ${Math.max(0, Math.round((started + (2 * SECONDS + 60) * 1000 - Date.now()) / 1000))} s`;
  console.error(`starting the stack (${eta()})`);
  const stack = await startTenantStack({ basePort: 18510, gpuTimeoutMs: GPU_TIMEOUT_MS });
  try {
    const heavyImage = await largeImage(4000, 3000, 5, 'jpeg'); // 12 MP
    console.error(`phase 1/2: light key alone, c=${CONCURRENCY / 2}, ${SECONDS} s (${eta()})`);
    const alone = await runLoad(stack.edge.origin, stack.keys.light, CONCURRENCY / 2, SECONDS * 1000, lightRequests());
    console.error(`phase 2/2: light c=${CONCURRENCY / 2} + heavy c=${CONCURRENCY / 2}, ${SECONDS} s (${eta()})`);
    const [shared, heavy] = await Promise.all([
      runLoad(stack.edge.origin, stack.keys.light, CONCURRENCY / 2, SECONDS * 1000, lightRequests()),
      runLoad(stack.edge.origin, stack.keys.heavy, CONCURRENCY / 2, SECONDS * 1000, heavyRequests(heavyImage)),
    ]);
    console.log(`bench:tenants, ${SECONDS} s a phase, edge timeout ${GPU_TIMEOUT_MS} ms (the light key's deadline ${GPU_TIMEOUT_MS - 1500} ms), ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
    console.log('| light key (1 phrase, sample scenes) | answers | p50 ms | p99 ms | errors | statuses |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(row('alone (c=8)', alone));
    console.log(row('with the heavy key (c=8 + 8)', shared));
    const heavyCodes = [...heavy.statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
    console.log(`heavy key (12 MP x 16 phrases): ${heavy.latencies.length} answers (${heavyCodes})`);
  } finally {
    await stack.stop();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
