/**
 * API key admin: `npm run keys -- create|list|revoke [--local|--remote] ...`. Writes through
 * `wrangler kv key put/list/get` so local keys land in the same state wrangler dev reads
 * (`--persist-to`, default .local/wrangler) and remote keys in the production namespace.
 *
 *   npm run keys -- create --plan free            prints the new key once (only its sha256 is stored)
 *   npm run keys -- list
 *   npm run keys -- revoke key_XXXXXXXXXXXXXXXX   marks it disabled (403 from then on)
 *   npm run keys -- webhook-secret key_XXX [--rotate]   prints the key's webhook signing secret (makes one if missing)
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashApiKey, KeyRecordSchema, newApiKey, PLANS, type KeyLimits, type KeyRecord } from '../src/auth/key-record.js';
import { newWebhookSecret } from '../src/webhooks/signature.js';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
/** The one local state folder: wrangler dev, this CLI and the test helpers use it. */
export const DEFAULT_PERSIST_DIR = join(REPO_ROOT, '.local', 'wrangler');
const BINDING = 'API_KEYS';

export interface Target {
  remote: boolean;
  /** Local state folder (ignored with remote). */
  persistTo: string;
}

function wrangler(target: Target, args: string[]): string {
  const where = target.remote ? ['--remote', '--env', 'production'] : ['--local', '--persist-to', target.persistTo];
  const result = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'wrangler'), [...args, '--binding', BINDING, ...where], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
  });
  if (result.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

interface ListedKey {
  name: string;
  metadata?: { keyId?: string; plan?: string; disabled?: boolean; createdAt?: string };
}

function putRecord(target: Target, hash: string, record: KeyRecord): void {
  const metadata = { keyId: record.keyId, plan: record.plan, disabled: record.disabled, createdAt: record.createdAt };
  wrangler(target, ['kv', 'key', 'put', hash, JSON.stringify(record), '--metadata', JSON.stringify(metadata)]);
}

export async function createKey(target: Target, plan: string, limits?: Partial<KeyLimits>): Promise<{ apiKey: string; record: KeyRecord }> {
  const planLimits = PLANS[plan];
  if (!planLimits) throw new Error(`unknown plan '${plan}' (one of ${Object.keys(PLANS).join(', ')})`);
  const { apiKey, keyId } = newApiKey(target.remote ? 'live' : 'test');
  const record = KeyRecordSchema.parse({
    keyId,
    plan,
    limits: { ...planLimits, ...limits },
    disabled: false,
    createdAt: new Date().toISOString(),
    webhookSecret: newWebhookSecret(),
  });
  putRecord(target, await hashApiKey(apiKey), record);
  return { apiKey, record };
}

export function listKeys(target: Target): ListedKey[] {
  const output = wrangler(target, ['kv', 'key', 'list']);
  return JSON.parse(output.slice(output.indexOf('['))) as ListedKey[];
}

function readRecord(target: Target, keyId: string): { hash: string; record: KeyRecord } {
  const entry = listKeys(target).find((key) => key.metadata?.keyId === keyId);
  if (!entry) throw new Error(`no key with id ${keyId}`);
  return { hash: entry.name, record: KeyRecordSchema.parse(JSON.parse(wrangler(target, ['kv', 'key', 'get', entry.name, '--text']))) };
}

export function revokeKey(target: Target, keyId: string): KeyRecord {
  const { hash, record } = readRecord(target, keyId);
  const revoked = { ...record, disabled: true };
  putRecord(target, hash, revoked);
  return revoked;
}

/** The key's webhook signing secret: the stored one, or a new one when missing or `rotate`. */
export function webhookSecret(target: Target, keyId: string, rotate = false): string {
  const { hash, record } = readRecord(target, keyId);
  if (record.webhookSecret && !rotate) return record.webhookSecret;
  const updated = { ...record, webhookSecret: newWebhookSecret() };
  putRecord(target, hash, updated);
  return updated.webhookSecret;
}

function flag(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const target: Target = { remote: rest.includes('--remote'), persistTo: resolve(flag(rest, '--persist-to') ?? DEFAULT_PERSIST_DIR) };
  const where = target.remote ? 'remote (production namespace)' : `local (${target.persistTo})`;
  if (command === 'create') {
    const plan = flag(rest, '--plan') ?? 'free';
    const { apiKey, record } = await createKey(target, plan);
    console.log(`created ${record.keyId} (plan ${plan}: ${JSON.stringify(record.limits)}) in ${where}`);
    console.log('API key (shown once, store it now):');
    console.log(apiKey);
  } else if (command === 'list') {
    const keys = listKeys(target);
    console.log(`${keys.length} key(s) in ${where}`);
    for (const key of keys) {
      const meta = key.metadata ?? {};
      console.log(`${meta.keyId ?? '?'}\t${meta.plan ?? '?'}\t${meta.disabled ? 'revoked' : 'active'}\t${meta.createdAt ?? ''}\tsha256:${key.name.slice(0, 12)}…`);
    }
  } else if (command === 'revoke') {
    const keyId = rest.find((arg) => arg.startsWith('key_'));
    if (!keyId) throw new Error('usage: npm run keys -- revoke <keyId> [--local|--remote]');
    revokeKey(target, keyId);
    console.log(`revoked ${keyId} in ${where}`);
  } else if (command === 'webhook-secret') {
    const keyId = rest.find((arg) => arg.startsWith('key_'));
    if (!keyId) throw new Error('usage: npm run keys -- webhook-secret <keyId> [--rotate] [--local|--remote]');
    console.log(`webhook signing secret of ${keyId} in ${where} (Standard Webhooks; edge isolates see a change within a minute):`);
    console.log(webhookSecret(target, keyId, rest.includes('--rotate')));
  } else {
    console.log('usage: npm run keys -- create [--plan free|pro|bench] | list | revoke <keyId> | webhook-secret <keyId> [--rotate]   [--local (default) | --remote] [--persist-to DIR]');
    process.exitCode = command ? 1 : 0;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
