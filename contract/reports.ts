/**
 * Shapes of the edge's read-only answers besides a result: `GET /v1/usage`, `GET /v1/models`
 * and the 202 of `Prefer: respond-async`. The edge builds them typed by these schemas, the
 * OpenAPI document shows them, and the SDK's types are inferred from them (type-only imports).
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();

/** Booked phrases of a day or of a whole report. */
const UsageCountsSchema = z.object({
  /** Phrases asked. */
  requests: Count,
  /** Phrases computed by the GPU tier: billed. */
  billable: Count,
  /** Phrases answered from the result cache: counted, not billed. */
  cached: Count,
});

/** Booked requests of one UTC day. */
export const UsageDaySchema = z.object({
  /** YYYY-MM-DD (UTC). */
  date: z.string(),
  ...UsageCountsSchema.shape,
});
export type UsageDay = z.infer<typeof UsageDaySchema>;

/** `GET /v1/usage`: the calling key's per-day totals in [from, to] and this month's quota. */
export const UsageReportSchema = z.object({
  key_id: z.string(),
  plan: z.string(),
  /** First and last day covered, YYYY-MM-DD (UTC). */
  from: z.string(),
  to: z.string(),
  days: z.array(UsageDaySchema),
  totals: UsageCountsSchema,
  /** `GET /v1/results/{id}` and `GET /v1/usage` calls in [from, to], this one included (rate-limited, no quota). */
  reads: Count,
  quota: z.object({
    /** YYYY-MM (UTC). */
    month: z.string(),
    limit: Count,
    used: Count,
    /** Phrases being computed now (reserved, not billed yet). */
    reserved: Count,
    remaining: Count,
  }),
});
export type UsageReport = z.infer<typeof UsageReportSchema>;

/** One model the endpoint serves. */
export const ModelInfoSchema = z.object({
  id: z.string(),
  version: z.string(),
  /** `<id>@<version>`, as results name their model. */
  ref: z.string(),
  default: z.boolean(),
  /** The network's input side in pixels (clients shrink photos to a little above it). */
  input_size: z.number().int().positive().optional(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** `GET /v1/models`. */
export const ModelsListSchema = z.object({ data: z.array(ModelInfoSchema) });
export type ModelsList = z.infer<typeof ModelsListSchema>;

/** 202 of `POST /v1/segment` with `Prefer: respond-async`: poll `result_url` (also in `Location`). */
export const PendingResultSchema = z.object({
  id: z.string(),
  status: z.literal('pending'),
  result_url: z.string(),
});
export type PendingResult = z.infer<typeof PendingResultSchema>;
