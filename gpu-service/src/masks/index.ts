export * from './postprocess.js';
