/**
 * One Durable Object per API key: token-bucket rate limit, monthly quota, usage ledger and
 * idempotency records. Every method runs to completion without awaiting (SQLite storage is
 * synchronous), so concurrent requests on one key are applied one at a time and the ledger is
 * exact. Quota is checked against billed + reserved units, so concurrent requests cannot
 * overshoot it.
 */
import { DurableObject } from 'cloudflare:workers';
import type { KeyLimits } from '../auth/key-record.js';
import type { Bindings } from '../env.js';
import { monthOf, secondsToNextMonth, utcDay } from './calendar.js';

export type Admission =
  | { ok: true; reservation: string }
  | { ok: false; code: 'rate_limited' | 'quota_exceeded'; retryAfterSeconds: number; message: string };

export interface Settlement {
  /** Phrases answered by the GPU tier: billed. */
  billable: number;
  /** Phrases answered from the result cache: counted, not billed. */
  cached: number;
}

export interface DayUsage {
  date: string;
  requests: number;
  billable: number;
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

const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A reservation not settled within this time (the Worker died) is released. */
const RESERVATION_TTL_MS = 10 * 60 * 1000;

export class KeyMeter extends DurableObject<Bindings> {
  private tokens = Number.NaN;
  private refilledAtMs = 0;
  private readonly reservations = new Map<string, { units: number; atMs: number }>();
  private reservationSeq = 0;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS usage (
      day TEXT PRIMARY KEY, requests INTEGER NOT NULL, billable INTEGER NOT NULL, cached INTEGER NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, response TEXT, created_ms INTEGER NOT NULL)`);
  }

  /** Takes one token and reserves `units` of the month's quota. */
  admit(limits: KeyLimits, units: number, nowMs: number = Date.now()): Admission {
    this.refill(limits, nowMs);
    if (this.tokens < 1) return this.rateLimited(limits);
    this.expireReservations(nowMs);
    const committed = this.billedInMonth(monthOf(nowMs)) + this.reservedUnits();
    if (committed + units > limits.monthlyQuota) {
      return { ok: false, code: 'quota_exceeded', retryAfterSeconds: secondsToNextMonth(nowMs), message: `Monthly quota of ${limits.monthlyQuota} phrases used up.` };
    }
    this.tokens -= 1;
    const reservation = `r${++this.reservationSeq}`;
    this.reservations.set(reservation, { units, atMs: nowMs });
    return { ok: true, reservation };
  }

  /**
   * A request answered from the result cache: takes one token (rate limit) and books the cached
   * phrases in the same call; the quota is not touched, cache hits are not billed.
   */
  recordCached(limits: KeyLimits, units: number, nowMs: number = Date.now()): Admission {
    this.refill(limits, nowMs);
    if (this.tokens < 1) return this.rateLimited(limits);
    this.tokens -= 1;
    this.book(nowMs, 0, units);
    return { ok: true, reservation: '' };
  }

  /** Releases a reservation and books what was actually answered. */
  settle(reservation: string, outcome: Settlement, nowMs: number = Date.now()): void {
    this.reservations.delete(reservation);
    if (outcome.billable === 0 && outcome.cached === 0) return;
    this.book(nowMs, outcome.billable, outcome.cached);
  }

  private book(nowMs: number, billable: number, cached: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO usage (day, requests, billable, cached) VALUES (?, 1, ?, ?)
       ON CONFLICT(day) DO UPDATE SET requests = requests + 1, billable = billable + excluded.billable, cached = cached + excluded.cached`,
      utcDay(nowMs), billable, cached,
    );
  }

  private rateLimited(limits: KeyLimits): Admission {
    const waitSeconds = (1 - this.tokens) / limits.ratePerSecond;
    return { ok: false, code: 'rate_limited', retryAfterSeconds: waitSeconds, message: `Rate limit: ${limits.ratePerSecond} requests per second, bursts of ${limits.burst}.` };
  }

  /** Per-day totals, oldest first, for days in [from, to] (YYYY-MM-DD, inclusive). */
  usage(from: string, to: string): DayUsage[] {
    return this.ctx.storage.sql
      .exec<{ day: string; requests: number; billable: number; cached: number }>(
        'SELECT day, requests, billable, cached FROM usage WHERE day >= ? AND day <= ? ORDER BY day', from, to)
      .toArray()
      .map((row) => ({ date: row.day, requests: row.requests, billable: row.billable, cached: row.cached }));
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

  private refill(limits: KeyLimits, nowMs: number): void {
    if (Number.isNaN(this.tokens)) {
      this.tokens = limits.burst;
      this.refilledAtMs = nowMs;
      return;
    }
    const elapsedSeconds = Math.max(0, nowMs - this.refilledAtMs) / 1000;
    this.tokens = Math.min(limits.burst, this.tokens + elapsedSeconds * limits.ratePerSecond);
    this.refilledAtMs = nowMs;
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
