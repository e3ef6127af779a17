/**
 * `GET /v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the caller's per-day totals (default: this
 * month). A read: it takes a token of the key's read bucket (429 when empty) and is counted in
 * `reads`, but costs no quota.
 */
import type { Context } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import type { UsageReport } from '../../../contract/reports.js';
import type { AppEnv } from '../env.js';
import { isCalendarDay, monthStart, utcDay } from '../meter/calendar.js';
import { admitRead } from '../meter/read-token.js';
import { keyMeterStub } from '../meter/meter-stub.js';

export async function usageHandler(c: Context<AppEnv>): Promise<Response> {
  const apiKey = c.get('apiKey');
  const now = Date.now();
  const from = c.req.query('from') ?? monthStart(now);
  const to = c.req.query('to') ?? utcDay(now);
  for (const [name, value] of [['from', from], ['to', to]]) {
    if (!isCalendarDay(value)) throw new ApiError('invalid_options', `\`${name}\` must be a calendar date, YYYY-MM-DD (got "${value.slice(0, 40)}").`);
  }
  if (from > to) throw new ApiError('invalid_options', `\`from\` (${from}) is after \`to\` (${to}).`);
  const meter = keyMeterStub(c.env, c.get('config'), apiKey.keyId);
  // Books this isolate's pending cache hits of the key first, so a caller sees its own hits.
  await admitRead(c, meter);
  const [days, month, reads] = await Promise.all([meter.usage(from, to), meter.monthTotals(now), meter.readsBetween(from, to)]);
  const totals = days.reduce(
    (sum, day) => ({ requests: sum.requests + day.requests, billable: sum.billable + day.billable, cached: sum.cached + day.cached }),
    { requests: 0, billable: 0, cached: 0 },
  );
  const report: UsageReport = {
    key_id: apiKey.keyId,
    plan: apiKey.plan,
    from,
    to,
    days,
    totals,
    reads,
    quota: {
      month: month.month,
      limit: apiKey.limits.monthlyQuota,
      used: month.billable,
      reserved: month.reserved,
      remaining: Math.max(0, apiKey.limits.monthlyQuota - month.billable - month.reserved),
    },
  };
  return c.json(report);
}
