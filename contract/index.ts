export * from './errors.js';
export * from './limits.js';
export * from './segment.js';
export * from './text.js';
export * from './hmac.js';
export * from './result-key.js';
export * from './images.js';
export * from './accept.js';
