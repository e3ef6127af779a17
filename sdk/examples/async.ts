// Ask in the background and poll for the answer (Prefer: respond-async), with deadlines and a way
// to give up (Ctrl-C): every failure, a timeout or an abort included, is a CrisError.
//   CRIS_API_KEY=<key> npx tsx sdk/examples/async.ts photo.jpg "the red circle"
import { readFile } from 'node:fs/promises';
import { createClient, CrisError, isPending } from '../index.js';

const [imagePath = 'functions/public/samples/scene-1.png', phrase = 'the large yellow circle'] = process.argv.slice(2);

const cris = createClient({
  endpoint: process.env.CRIS_ENDPOINT ?? 'http://127.0.0.1:8787',
  apiKey: process.env.CRIS_API_KEY ?? '',
  timeout: 30_000, // ms per call, retries and their waits included
  retry: { maxAttempts: 5 }, // 429, 502, 503, 504 and network errors; a POST keeps its Idempotency-Key
});
const giveUp = new AbortController();
process.once('SIGINT', () => giveUp.abort());

try {
  const answer = await cris.submit({ image: await readFile(imagePath), text: phrase, format: 'rle', signal: giveUp.signal });
  const result = isPending(answer) ? await cris.waitForResult(answer.id, { timeout: 120_000, signal: giveUp.signal }) : answer;
  console.log(`${isPending(answer) ? 'computed in the background' : 'cached'}: result ${result.id}, ${result.results[0].area} px`);
} catch (error) {
  if (error instanceof CrisError) console.error(`${error.code} (status ${error.status}): ${error.message}`);
  else console.error(error);
  process.exitCode = 1;
}
