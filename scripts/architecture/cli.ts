/**
 * `npm run docs:architecture`: docs/architecture.svg (the house drawn from the real imports,
 * draw.ts) and docs/architecture.png rendered from it with sharp. test/unit/architecture.test.ts
 * fails when the committed SVG differs from a fresh one, or when a forbidden import appears.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { repositoryArchitectureSvg } from './draw.js';

const ROOT = join(import.meta.dirname, '..', '..');
const svg = repositoryArchitectureSvg(ROOT);
writeFileSync(join(ROOT, 'docs', 'architecture.svg'), svg);
await sharp(Buffer.from(svg), { density: 144 }).png({ compressionLevel: 9 }).toFile(join(ROOT, 'docs', 'architecture.png'));
console.log('wrote docs/architecture.svg and docs/architecture.png');
