export * from './schema.js';
export * from './read.js';
export * from './check.js';
