/**
 * The API's shapes as the SDK sees them: inferred from the contract's zod schemas, imported as
 * types only (the SDK has no zod at run time). The package build (sdk/build-package.mjs) writes
 * this module's declaration out expanded, so the shipped .d.ts needs no zod either.
 * Every other SDK module takes its wire types from here.
 */
import type * as Images from '../contract/images.js';
import type * as Reports from '../contract/reports.js';
import type * as Segment from '../contract/segment.js';

/** `POST /v1/segment` and `GET /v1/results/{id}`: the masks of every phrase. */
export type SegmentResult = Segment.SegmentResult;
/** One phrase's answer in a SegmentResult. */
export type PhraseResult = Segment.PhraseResult;
/** A mask in one of the encodings: GeoJSON MultiPolygon coordinates, COCO RLE or PNG. */
export type Mask = Segment.Mask;
export type MaskFormat = Segment.MaskFormat;
/** `GET /v1/usage`: the calling key's per-day totals in [from, to] and this month's quota. */
export type UsageReport = Reports.UsageReport;
/** One day of a UsageReport (`date` is YYYY-MM-DD, UTC). */
export type UsageDay = Reports.UsageDay;
/** `GET /v1/models`: the models this endpoint serves. */
export type ModelsList = Reports.ModelsList;
/** One entry of ModelsList. */
export type ModelInfo = Reports.ModelInfo;
/** 202 of `Prefer: respond-async`: poll `result_url` (`waitForResult` does). */
export type PendingResult = Reports.PendingResult;
/** A photo's size in pixels. */
export type Size = Images.Size;
