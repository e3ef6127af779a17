// Worker-thread entry. Node 20 does not apply the parent's tsx loader hooks inside worker
// threads, so register them here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
