/**
 * One Durable Object per API key: token-bucket rate limits (one bucket for segmentations, one of
 * the same size for reads), monthly quota, usage ledger (with a count of reads) and idempotency
 * records. Every method runs to completion without awaiting (SQLite storage is
 * synchronous), so concurrent requests on one key are applied one at a time and the ledger is
 * exact. Quota is checked against billed + reserved units, so concurrent requests cannot
 * overshoot it.
 */
import { DurableObject } from 'cloudflare:workers';
import type { UsageDay } from '../../../contract/reports.js';
import type { KeyLimits } from '../auth/key-record.js';
import { monthOf, secondsToNextMonth, utcDay } from './calendar.js';
import type { HitCount } from './pending-hits.js';
import { TokenBucket } from './token-bucket.js';

export type Admission =
  | { ok: true; reservation: string }
  | { ok: false; code: 'rate_limited' | 'quota_exceeded'; retryAfterSeconds: number; message: string };

export interface Settlement {
  /** Phrases answered by the GPU tier: billed. */
  billable: number;
  /** Phrases answered from the result cache: counted, not billed. */
  cached: number;
}


export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'conflict' }
  | { state: 'in_flight' }
  | { state: 'done'; response: StoredResponse };

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** Body, base64. */
  body: string;
}

/** How long cache-hit counts may stay in memory only. */
const HIT_FLUSH_MS = 1000;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A reservation not settled within this time (the Worker died) is released. */
const RESERVATION_TTL_MS = 10 * 60 * 1000;

export class KeyMeter extends DurableObject<Bindings> {
  private readonly segmentTokens = new TokenBucket();
  /** Reads (results, usage) have a bucket of their own: a key that spent its segment tokens can still read its usage. */
  private readonly readTokens = new TokenBucket();
  private readonly reservations = new Map<string, { units: number; atMs: number }>();
  private reservationSeq = 0;
  /** Cache hits per day, exact in memory, written to the `hits` table by flushHits. */
  private readonly hitsByDay = new Map<string, { requests: number; cached: number }>();
  private readonly unflushedDays = new Set<string>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS usage (
      day TEXT PRIMARY KEY, requests INTEGER NOT NULL, billable INTEGER NOT NULL, cached INTEGER NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS hits (
      day TEXT PRIMARY KEY, requests INTEGER NOT NULL, cached INTEGER NOT NULL)`);
    for (const row of ctx.storage.sql.exec<{ day: string; requests: number; cached: number }>('SELECT day, requests, cached FROM hits')) {
      this.hitsByDay.set(row.day, { requests: row.requests, cached: row.cached });
    }
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS reads (day TEXT PRIMARY KEY, reads INTEGER NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, response TEXT, created_ms INTEGER NOT NULL)`);
  }

  /**
   * Takes one token of the key's rate limit. Every metered request pays one, before anything else
   * is known about it, so the Worker can ask while it still reads and hashes the body.
   */
  takeToken(limits: KeyLimits, carriedHits: HitCount[] = [], nowMs: number = Date.now()): Admission {
    this.bookHits(carriedHits);
    const taken = this.segmentTokens.take(limits, nowMs);
    if (!taken.ok) return this.rateLimited(limits, taken.retryAfterSeconds);
    return { ok: true, reservation: '' };
  }

  /**
   * Takes one token of the key's read bucket (same rate and burst as segmentations) for a
   * `GET /v1/results/{id}` or `GET /v1/usage`, and counts the read (no quota).
   */
  takeReadToken(limits: KeyLimits, carriedHits: HitCount[] = [], nowMs: number = Date.now()): Admission {
    this.bookHits(carriedHits);
    const taken = this.readTokens.take(limits, nowMs);
    if (!taken.ok) return this.rateLimited(limits, taken.retryAfterSeconds);
    this.ctx.storage.sql.exec(
      'INSERT INTO reads (day, reads) VALUES (?, 1) ON CONFLICT(day) DO UPDATE SET reads = reads + 1',
      utcDay(nowMs),
    );
    return { ok: true, reservation: '' };
  }

  /** Reads counted in [from, to] (YYYY-MM-DD, inclusive). */
  readsBetween(from: string, to: string): number {
    const row = this.ctx.storage.sql
      .exec<{ total: number | null }>('SELECT SUM(reads) AS total FROM reads WHERE day >= ? AND day <= ?', from, to)
      .toArray()[0];
    return row?.total ?? 0;
  }

  /** Reserves `units` of the month's quota for a request going to the GPU tier; see settle. */
  reserve(limits: KeyLimits, units: number, nowMs: number = Date.now()): Admission {
    this.expireReservations(nowMs);
    const committed = this.billedInMonth(monthOf(nowMs)) + this.reservedUnits();
    if (committed + units > limits.monthlyQuota) {
      return { ok: false, code: 'quota_exceeded', retryAfterSeconds: secondsToNextMonth(nowMs), message: `Monthly quota of ${limits.monthlyQuota} phrases used up.` };
    }
    const reservation = `r${++this.reservationSeq}`;
    this.reservations.set(reservation, { units, atMs: nowMs });
    return { ok: true, reservation };
  }

  /**
   * Books requests answered from the result cache (the Worker sends them in batches, see
   * pending-hits.ts): counted, not billed, quota untouched. The counts are exact in memory and
   * written to storage at most once per HIT_FLUSH_MS, so booking hits does not wait for a storage
   * commit. The price: if the object dies within that window, up to HIT_FLUSH_MS of unbilled hit
   * counts are lost; billed units are always committed before the answer.
   */
  bookHits(carried: HitCount[]): void {
    for (const { day, requests, cached } of carried) {
      const hits = this.hitsByDay.get(day) ?? { requests: 0, cached: 0 };
      this.hitsByDay.set(day, { requests: hits.requests + requests, cached: hits.cached + cached });
      this.unflushedDays.add(day);
    }
    if (this.unflushedDays.size > 0) this.flushTimer ??= setTimeout(() => this.flushHits(), HIT_FLUSH_MS);
  }

  private flushHits(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const day of this.unflushedDays) {
      const hits = this.hitsByDay.get(day)!;
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO hits (day, requests, cached) VALUES (?, ?, ?)', day, hits.requests, hits.cached);
    }
    this.unflushedDays.clear();
  }

  /** Releases a reservation and books what was actually answered. */
  settle(reservation: string, outcome: Settlement, nowMs: number = Date.now()): void {
    this.reservations.delete(reservation);
    if (outcome.billable === 0 && outcome.cached === 0) return;
    this.book(nowMs, outcome.billable, outcome.cached);
    if (this.unflushedDays.size > 0) this.flushHits(); // rides on this commit
  }

  private book(nowMs: number, billable: number, cached: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO usage (day, requests, billable, cached) VALUES (?, 1, ?, ?)
       ON CONFLICT(day) DO UPDATE SET requests = requests + 1, billable = billable + excluded.billable, cached = cached + excluded.cached`,
      utcDay(nowMs), billable, cached,
    );
  }

  private rateLimited(limits: KeyLimits, waitSeconds: number): Admission {
    return { ok: false, code: 'rate_limited', retryAfterSeconds: waitSeconds, message: `Rate limit: ${limits.ratePerSecond} requests per second, bursts of ${limits.burst}.` };
  }

  /** Per-day totals, oldest first, for days in [from, to] (YYYY-MM-DD, inclusive), after booking `carriedHits`. */
  usage(from: string, to: string, carriedHits: HitCount[] = []): UsageDay[] {
    this.bookHits(carriedHits);
    const days = new Map<string, UsageDay>();
    const rows = this.ctx.storage.sql
      .exec<{ day: string; requests: number; billable: number; cached: number }>(
        'SELECT day, requests, billable, cached FROM usage WHERE day >= ? AND day <= ?', from, to)
      .toArray();
    for (const row of rows) days.set(row.day, { date: row.day, requests: row.requests, billable: row.billable, cached: row.cached });
    for (const [day, hits] of this.hitsByDay) {
      if (day < from || day > to) continue;
      const entry = days.get(day) ?? { date: day, requests: 0, billable: 0, cached: 0 };
      days.set(day, { ...entry, requests: entry.requests + hits.requests, cached: entry.cached + hits.cached });
    }
    return [...days.values()].sort((a, b) => a.date.localeCompare(b.date));
  }

  monthTotals(nowMs: number = Date.now()): { month: string; billable: number; reserved: number } {
    const month = monthOf(nowMs);
    return { month, billable: this.billedInMonth(month), reserved: this.reservedUnits() };
  }

  idempotencyBegin(key: string, fingerprint: string, nowMs: number = Date.now()): IdempotencyBegin {
    this.ctx.storage.sql.exec('DELETE FROM idempotency WHERE created_ms < ?', nowMs - IDEMPOTENCY_TTL_MS);
    const row = this.ctx.storage.sql
      .exec<{ fingerprint: string; response: string | null }>('SELECT fingerprint, response FROM idempotency WHERE key = ?', key)
      .toArray()[0];
    if (!row) {
      this.ctx.storage.sql.exec('INSERT INTO idempotency (key, fingerprint, response, created_ms) VALUES (?, ?, NULL, ?)', key, fingerprint, nowMs);
      return { state: 'new' };
    }
    if (row.fingerprint !== fingerprint) return { state: 'conflict' };
    if (row.response === null) return { state: 'in_flight' };
    return { state: 'done', response: JSON.parse(row.response) as StoredResponse };
  }

  idempotencyComplete(key: string, response: StoredResponse): void {
    this.ctx.storage.sql.exec('UPDATE idempotency SET response = ? WHERE key = ?', JSON.stringify(response), key);
  }

  /** Forgets a key whose request failed in a way worth retrying (5xx, 429). */
  idempotencyRelease(key: string): void {
    this.ctx.storage.sql.exec('DELETE FROM idempotency WHERE key = ? AND response IS NULL', key);
  }

  private billedInMonth(month: string): number {
    const row = this.ctx.storage.sql
      .exec<{ total: number | null }>('SELECT SUM(billable) AS total FROM usage WHERE day LIKE ?', `${month}-%`)
      .toArray()[0];
    return row?.total ?? 0;
  }

  private reservedUnits(): number {
    let total = 0;
    for (const { units } of this.reservations.values()) total += units;
    return total;
  }

  private expireReservations(nowMs: number): void {
    for (const [id, { atMs }] of this.reservations) {
      if (nowMs - atMs > RESERVATION_TTL_MS) this.reservations.delete(id);
    }
  }
}
