// The workerd suite: tests run inside workerd next to the Worker (functions/src/index.ts), with
// the bindings of wrangler.toml; vars point the GPU service and S3 at fake hosts the tests
// answer through a fetch mock (test/edge/fake-upstream.ts).
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      main: `${root}/functions/src/index.ts`,
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        bindings: {
          GPU_SERVICE_URLS: 'http://gpu-a.test,http://gpu-b.test',
          GPU_TIMEOUT_MS: '2000',
          S3_ENDPOINT: 'http://s3.test',
          S3_BUCKET: 'cris-results',
          BREAKER_FAILURES: '3',
          BREAKER_COOLDOWN_S: '1',
          BREAKER_PROBE_TIMEOUT_MS: '300',
          S3_TIMEOUT_MS: '500',
          S3_SKIP_S: '2',
          // generous: the suite runs 200 concurrent requests on a loaded machine
          KV_TIMEOUT_MS: '15000',
          METER_TIMEOUT_MS: '15000',
          HMAC_SECRET: 'edge-test-hmac-secret',
        },
      },
    }),
  ],
  test: {
    name: 'edge',
    include: ['test/edge/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
