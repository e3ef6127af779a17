/** Worker entry: the Hono app and the per-key Durable Object class. */
import { createApp } from './app.js';

export { KeyMeter } from './meter/key-meter.js';

export default createApp();
