/**
 * wrangler.toml can't hurt production by accident: the dev Worker and the production Worker have
 * different names (a bare `wrangler deploy` can only replace the dev one), production's secrets
 * are secrets (never vars), and production is served from a custom domain, where the Cache API
 * works (it is a no-op on workers.dev). The file is read twice: as TOML (smol-toml), for what is
 * written, and through wrangler's own config reader, for what each `--env` resolves to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { unstable_readConfig } from 'wrangler';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CONFIG_PATH = join(ROOT, 'wrangler.toml');
const PRODUCTION_WORKER = 'cris-edge';
const SECRETS = ['HMAC_SECRET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];

type Table = Record<string, any>;
const toml = parse(readFileSync(CONFIG_PATH, 'utf8')) as Table;
const production = toml.env?.production as Table;
const resolved = (env: string | undefined) => unstable_readConfig({ config: CONFIG_PATH, env }, { hideWarnings: true });
const isLoopback = (url: string) => /^https?:\/\/(127\.|localhost|\[::1\])/.test(url);

describe('wrangler.toml', () => {
  it('names the production Worker only under [env.production]', () => {
    expect(production?.name).toBe(PRODUCTION_WORKER);
    expect(toml.name).toEqual(expect.any(String));
    expect(toml.name).not.toBe(PRODUCTION_WORKER);
    for (const [envName, env] of Object.entries(toml.env as Table)) {
      if (envName !== 'production') expect((env as Table).name, `env.${envName}`).not.toBe(PRODUCTION_WORKER);
    }
  });

  it('wrangler resolves no --env to the dev Worker and --env production to the production one', () => {
    const dev = resolved(undefined);
    const prod = resolved('production');
    expect(dev.name).toBe(toml.name);
    expect(prod.name).toBe(PRODUCTION_WORKER);
    // the dev Worker carries the loopback upstreams; production none of them
    expect(dev.vars.GPU_SERVICE_URLS).toSatisfy((urls: string) => urls.split(',').every(isLoopback));
    for (const url of String(prod.vars.GPU_SERVICE_URLS).split(',').concat(String(prod.vars.S3_ENDPOINT))) {
      expect(url, 'production upstreams are https and not loopback').toMatch(/^https:\/\//);
      expect(isLoopback(url)).toBe(false);
    }
  });

  it('keeps production secrets out of its vars and lists them as required secrets', () => {
    const vars = (production.vars ?? {}) as Table;
    for (const name of SECRETS) expect(Object.keys(vars), `${name} is a secret`).not.toContain(name);
    expect([...(production.secrets?.required ?? [])].sort()).toEqual([...SECRETS].sort());
    // every binding the dev Worker gets as a var, production gets as a var or a secret
    expect([...Object.keys(vars), ...SECRETS].sort()).toEqual(Object.keys(toml.vars).sort());
    expect(Object.keys(resolved('production').vars)).not.toEqual(expect.arrayContaining([SECRETS[0]]));
  });

  it('serves production from a custom domain, not workers.dev (the Cache API is a no-op there)', () => {
    expect(production.workers_dev).toBe(false);
    const routes = (production.routes ?? []) as Table[];
    expect(routes.length).toBeGreaterThanOrEqual(1);
    for (const route of routes) {
      expect(route.custom_domain === true || typeof route.zone_name === 'string' || typeof route.zone_id === 'string', JSON.stringify(route)).toBe(true);
      expect(route.pattern).not.toMatch(/workers\.dev/);
    }
    const prod = resolved('production');
    expect(prod.workers_dev).toBe(false);
    expect(prod.routes).toEqual(routes);
  });

  it('gives production the same KV and Durable Object bindings as dev', () => {
    const bindings = (config: Table) => [
      ...(config.kv_namespaces ?? []).map((kv: Table) => `kv:${kv.binding}`),
      ...(config.durable_objects?.bindings ?? []).map((ns: Table) => `do:${ns.name}:${ns.class_name}`),
    ].sort();
    expect(bindings(production)).toEqual(bindings(toml));
    expect(bindings(production).length).toBeGreaterThanOrEqual(2);
  });
});
