export { ClipTokenizer } from './clip-bpe.js';
export { parseMerges, readMergesFile, type MergePair } from './merges.js';
export { loadTokenizer } from './load.js';
