/** `GET /v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the caller's per-day totals (default: this month). */
import type { Context } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';
import { monthStart, utcDay } from '../meter/calendar.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function usageHandler(c: Context<AppEnv>): Promise<Response> {
  const apiKey = c.get('apiKey');
  const now = Date.now();
  const from = c.req.query('from') ?? monthStart(now);
  const to = c.req.query('to') ?? utcDay(now);
  if (!DAY.test(from) || !DAY.test(to)) throw new ApiError('bad_request', '`from` and `to` are dates, YYYY-MM-DD.');
  const meter = c.env.KEY_METER.get(c.env.KEY_METER.idFromName(apiKey.keyId));
  // Books this isolate's pending cache hits of the key first, so a caller sees its own hits.
  const [days, month] = await Promise.all([meter.usage(from, to, c.get('pendingHits').take(apiKey.keyId)), meter.monthTotals(now)]);
  const totals = days.reduce(
    (sum, day) => ({ requests: sum.requests + day.requests, billable: sum.billable + day.billable, cached: sum.cached + day.cached }),
    { requests: 0, billable: 0, cached: 0 },
  );
  return c.json({
    key_id: apiKey.keyId,
    plan: apiKey.plan,
    from,
    to,
    days,
    totals,
    quota: {
      month: month.month,
      limit: apiKey.limits.monthlyQuota,
      used: month.billable,
      reserved: month.reserved,
      remaining: Math.max(0, apiKey.limits.monthlyQuota - month.billable - month.reserved),
    },
  });
}
