// Segment one object in a photo with the TypeScript SDK (Node 18+; the same calls work in a
// browser or a React Native app, where `image` is a Blob or a { uri, name, type } file).
//   CRIS_API_KEY=<key> npx tsx sdk/examples/segment.ts photo.jpg "the red circle"
import { readFile } from 'node:fs/promises';
import { createClient, CrisError, maskToBitmap } from '../index.js';

const [imagePath = 'functions/public/samples/scene-1.png', phrase = 'the large yellow circle'] = process.argv.slice(2);

const cris = createClient({
  endpoint: process.env.CRIS_ENDPOINT ?? 'http://127.0.0.1:8787',
  apiKey: process.env.CRIS_API_KEY ?? '',
});

try {
  const result = await cris.segment({ image: await readFile(imagePath), text: phrase, format: 'rle' });
  const [answer] = result.results;
  const mask = await maskToBitmap(answer.mask, result.width, result.height); // 0/1 per pixel, row-major; all 0 when not found
  if (answer.found) console.log(`"${answer.text}": score ${answer.score.toFixed(2)}, bbox ${answer.bbox.join(',')}, ${answer.area} px`);
  else console.log(`"${answer.text}": not found`);
  console.log(`mask ${mask.width}x${mask.height}, result ${result.id}, cached ${result.cached}, ${result.timing.total_ms} ms`);
} catch (error) {
  if (error instanceof CrisError) console.error(`API error ${error.status} ${error.code}: ${error.message}`);
  else console.error(error);
  process.exitCode = 1;
}
