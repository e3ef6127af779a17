export * from './postprocess.js';
export * from '../../../contract/rle.js';
export * from './polygon.js';
export * from './png.js';
export { encodeMask } from './encode.js';
export * from './presence.js';
