/**
 * 405 for a known path called with a method it does not serve (RFC 9110 §15.5.6): the answer
 * names the methods the path does serve in `Allow`, in the one error shape. GET routes also
 * answer HEAD (Hono serves HEAD from GET); OPTIONS is the CORS preflight every path answers.
 */
import type { Hono } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';

/** Method(s) each known path serves, as registered in app.ts. */
export const ROUTE_METHODS: Record<string, readonly string[]> = {
  '/healthz': ['GET'],
  '/openapi.json': ['GET'],
  '/v1/models': ['GET'],
  '/v1/segment': ['POST'],
  '/v1/results/:id': ['GET'],
  '/v1/usage': ['GET'],
};

export function allowHeader(methods: readonly string[]): string {
  return [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
}

/** Registers the 405 fallbacks; call after the real routes, so these only see the other methods. */
export function registerMethodNotAllowed(app: Hono<AppEnv>): void {
  for (const [path, methods] of Object.entries(ROUTE_METHODS)) {
    const allow = allowHeader(methods);
    app.all(path, (c) => {
      const error = new ApiError('method_not_allowed', `${c.req.method} is not served on ${new URL(c.req.url).pathname}; use ${methods.join(' or ')}.`);
      return c.json(error.toBody(), 405, { allow });
    });
  }
}
