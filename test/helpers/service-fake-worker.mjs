// Worker-thread entry for WorkerPool tests: tsx hooks, then the fake worker.
import { register } from 'tsx/esm/api';

register();
await import('./service-fake-worker.ts');
