/**
 * The GPU run's parts (bench/gpu-run/parts.ts) and their join on the device
 * (bench/gpu-run/run-on-device.sh stash|join), on a small synthetic payload: sizes within the
 * budget, one part per "call" stashed with its sha256 checked, the join verified; a damaged or
 * missing part is refused. No download: the real pack is `npm run gpu:pack`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIB, partBudget, writeParts } from '../../../bench/gpu-run/parts.js';
import { REPO_ROOT } from '../../helpers/service-process.js';

const SCRIPT = join(REPO_ROOT, 'bench', 'gpu-run', 'run-on-device.sh');
const scratch = mkdtempSync(join(tmpdir(), 'cris-gpu-parts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function device(step: 'stash' | 'join', carried: string, home: string) {
  const result = spawnSync('bash', [SCRIPT, step], { env: { ...process.env, GPU_RUN_PARTS: carried, GPU_RUN_HOME: home }, encoding: 'utf8' });
  return { status: result.status, log: `${result.stdout}${result.stderr}` };
}

/** A tar payload holding one random file, cut into parts of `partBytes`. */
async function syntheticPack(name: string, fileBytes: number, partBytes: number) {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'random.bin'), randomBytes(fileBytes));
  expect(spawnSync('tar', ['-C', join(dir, 'src'), '-cf', join(dir, 'payload.tar'), 'random.bin']).status).toBe(0);
  const set = await writeParts(join(dir, 'payload.tar'), 'payload.tar', join(dir, 'parts'), partBytes);
  return { dir, set };
}

/** Sends each part alone (one device call each) and stashes it. */
function sendEachPart(partsDir: string, carried: string, home: string, names: string[]) {
  const logs: string[] = [];
  for (const name of names) {
    rmSync(carried, { recursive: true, force: true });
    mkdirSync(carried, { recursive: true });
    for (const file of [name, 'parts.sha256', 'payload.sha256']) cpSync(join(partsDir, file), join(carried, file));
    const { status, log } = device('stash', carried, home);
    expect(status, log).toBe(0);
    logs.push(log);
  }
  return logs;
}

describe('GPU run parts', () => {
  it('sizes a part so that it travels next to the working tree in one 64 MiB call', () => {
    expect(partBudget(16.2 * MIB)).toBe(43 * MIB);
    expect(partBudget(0)).toBe(60 * MIB);
    expect(partBudget(1 * MIB)).toBe(59 * MIB);
    expect(() => partBudget(55 * MIB)).toThrow(/leaves under 8 MiB/);
  });

  it('cuts a payload into parts within the limit, in order, with sha256s', async () => {
    const { dir, set } = await syntheticPack('cut', 300_000, 64 * 1024);
    const payload = readFileSync(join(dir, 'payload.tar'));
    expect(set.parts.map((p) => p.name)).toEqual(['p01', 'p02', 'p03', 'p04', 'p05'].slice(0, Math.ceil(payload.length / 65536)));
    for (const part of set.parts) expect(statSync(join(dir, 'parts', part.name)).size).toBeLessThanOrEqual(64 * 1024);
    const joined = Buffer.concat(set.parts.map((p) => readFileSync(join(dir, 'parts', p.name))));
    expect(joined.equals(payload)).toBe(true);
    expect(set.payload.bytes).toBe(payload.length);
    expect(readFileSync(join(dir, 'parts', 'parts.sha256'), 'utf8').trim().split('\n')).toHaveLength(set.parts.length);
    // a payload of exactly two parts makes no empty third one
    const exact = await writeParts(join(dir, 'payload.tar'), 'payload.tar', join(dir, 'exact'), payload.length / 2);
    expect(exact.parts.map((p) => p.bytes)).toEqual([payload.length / 2, payload.length / 2]);
  });

  it('the device script stashes one part per call, then joins, verifies and unpacks them', async () => {
    const { dir, set } = await syntheticPack('join', 200_000, 48 * 1024);
    const home = join(dir, 'home');
    const names = set.parts.map((p) => p.name);
    const early = device('join', join(dir, 'parts-none'), home);
    expect(early.status).not.toBe(0);
    const logs = sendEachPart(join(dir, 'parts'), join(dir, 'carried'), home, names);
    expect(logs[0]).toContain(`stash has 1/${names.length} parts; missing: ${names.slice(1).join(' ')}`);
    expect(logs.at(-1)).toContain(`stash has ${names.length}/${names.length} parts`);
    expect(readdirSync(join(dir, 'carried'))).not.toContain(names.at(-1)); // moved into the stash
    const joined = device('join', join(dir, 'carried'), home);
    expect(joined.status, joined.log).toBe(0);
    expect(joined.log).toMatch(/joined \d+ parts: payload.tar .* sha256 ok/);
    expect(readFileSync(join(home, 'work', 'payload', 'random.bin')).equals(readFileSync(join(dir, 'src', 'random.bin')))).toBe(true);
    expect(device('join', join(dir, 'carried'), home).log).toContain('already unpacked');
  });

  it('refuses a damaged part and a join with a part missing', async () => {
    const { dir, set } = await syntheticPack('bad', 150_000, 64 * 1024);
    const home = join(dir, 'home');
    const carried = join(dir, 'carried');
    sendEachPart(join(dir, 'parts'), carried, home, [set.parts[0].name]);
    const missing = device('join', carried, home);
    expect(missing.status).not.toBe(0);
    expect(missing.log).toMatch(/missing: p02/);
    expect(missing.log).toContain('parts are missing');
    const damaged = readFileSync(join(dir, 'parts', 'p02'));
    damaged[100] ^= 0xff;
    writeFileSync(join(carried, 'p02'), damaged);
    const refused = device('stash', carried, home);
    expect(refused.status).not.toBe(0);
    expect(refused.log).toContain('p02: sha256 mismatch');
    expect(readdirSync(join(home, 'parts'))).not.toContain('p02');
  });

  it('a new pack empties the stash, so parts of two packs never mix', async () => {
    const first = await syntheticPack('first', 100_000, 64 * 1024);
    const second = await syntheticPack('second', 100_000, 64 * 1024);
    const home = join(scratch, 'shared-home');
    sendEachPart(join(first.dir, 'parts'), join(first.dir, 'carried'), home, ['p01']);
    const log = sendEachPart(join(second.dir, 'parts'), join(second.dir, 'carried'), home, ['p02'])[0];
    expect(log).toContain('a new pack: emptying the stash');
    expect(log).toContain('missing: p01');
  });
});
