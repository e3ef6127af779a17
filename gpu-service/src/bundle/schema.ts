/**
 * manifest.json of a `cris-bundle/1` folder (models/BUNDLE.md), as a zod schema with the
 * cross-field rules the format states (vocabulary layout, graph shapes, files listed).
 */
import { z } from 'zod';

export const BUNDLE_FORMAT = 'cris-bundle/1';

const dim = z.union([z.literal('batch'), z.number().int().positive()]);
export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'float16', 'int64', 'int32', 'uint8', 'int8']),
  shape: z.array(dim).min(1),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

/** A file name inside the bundle folder: no directories, no parent references. */
const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain file name inside the bundle folder');

export const GraphSpecSchema = z.object({
  file: fileName,
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
});
export type GraphSpec = z.infer<typeof GraphSpecSchema>;

/** The optional second head output: one presence logit per phrase (apply a sigmoid). */
export const PRESENCE_OUTPUT: TensorSpec = { name: 'presence', dtype: 'float32', shape: ['batch', 1] };

const rgbTriple = z.tuple([z.number(), z.number(), z.number()]);

export const BundleManifestSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and "-"'),
    version: z.string().min(1),
    arch: z.looseObject({ name: z.string() }),
    precision: z.enum(['fp32', 'fp16', 'int8']),
    input: z.object({
      size: z.number().int().positive(),
      mean: rgbTriple,
      std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
      pad_rgb: z.tuple([z.number().min(0).max(255), z.number().min(0).max(255), z.number().min(0).max(255)]),
      interpolation: z.literal('bicubic'),
    }),
    text: z.object({
      word_len: z.number().int().min(2),
      tokenizer: z.object({
        type: z.literal('clip-bpe'),
        merges_file: fileName,
        merges_used: z.number().int().nonnegative(),
        vocab_size: z.number().int().positive(),
        sot_id: z.number().int().nonnegative(),
        eot_id: z.number().int().nonnegative(),
        pad_id: z.literal(0),
      }),
    }),
    output: z.object({
      stride: z.number().int().positive(),
      threshold: z.number().gt(0).lt(1),
      upsample: z.literal('bicubic-align-corners'),
    }),
    graphs: z.object({ image_encoder: GraphSpecSchema, head: GraphSpecSchema }),
    /** Default presence threshold (0..1); present exactly when the head has a `presence` output. */
    presence_threshold: z.number().min(0).max(1).optional(),
    files: z.record(fileName, z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lower-case hex digits')),
    provenance: z.looseObject({ source: z.string() }).optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
    const tok = m.text.tokenizer;
    if (tok.vocab_size !== 512 + tok.merges_used + 2) {
      issue(['text', 'tokenizer', 'vocab_size'], `must be 512 + merges_used + 2 = ${512 + tok.merges_used + 2}`);
    }
    if (tok.sot_id !== tok.vocab_size - 2) issue(['text', 'tokenizer', 'sot_id'], `must be vocab_size - 2 = ${tok.vocab_size - 2}`);
    if (tok.eot_id !== tok.vocab_size - 1) issue(['text', 'tokenizer', 'eot_id'], `must be vocab_size - 1 = ${tok.vocab_size - 1}`);
    const S = m.input.size;
    if (S % m.output.stride !== 0) issue(['output', 'stride'], `must divide input.size ${S}`);
    for (const file of [m.graphs.image_encoder.file, m.graphs.head.file, tok.merges_file]) {
      if (!(file in m.files)) issue(['files', file], 'missing: every file of the bundle needs its sha256');
    }
    for (const graph of ['image_encoder', 'head'] as const) {
      for (const side of ['inputs', 'outputs'] as const) {
        m.graphs[graph][side].forEach((spec, i) => {
          spec.shape.forEach((d, j) => {
            if ((j === 0) !== (d === 'batch')) issue(['graphs', graph, side, i, 'shape', j], 'only the first dimension is "batch"');
          });
        });
      }
    }
    const enc = m.graphs.image_encoder;
    expectSpec(issue, ['graphs', 'image_encoder', 'inputs'], enc.inputs, [{ name: 'image', dtype: 'float32', shape: ['batch', 3, S, S] }]);
    const head = m.graphs.head;
    const grid = S / m.output.stride;
    expectSpec(issue, ['graphs', 'head', 'inputs'], head.inputs, [
      ...enc.outputs,
      { name: 'tokens', dtype: 'int64', shape: ['batch', m.text.word_len] },
    ]);
    const logits: TensorSpec = { name: 'logits', dtype: 'float32', shape: ['batch', 1, grid, grid] };
    const withPresence = head.outputs.length === 2;
    expectSpec(issue, ['graphs', 'head', 'outputs'], head.outputs, withPresence ? [logits, PRESENCE_OUTPUT] : [logits]);
    if (withPresence && m.presence_threshold === undefined) {
      issue(['presence_threshold'], 'required when the head has a "presence" output');
    }
    if (!withPresence && m.presence_threshold !== undefined) {
      issue(['presence_threshold'], 'only for a head with a "presence" output (graphs.head.outputs[1])');
    }
  });

export type BundleManifest = z.infer<typeof BundleManifestSchema>;



function expectSpec(
  issue: (path: Array<string | number>, message: string) => void,
  path: Array<string | number>,
  actual: readonly TensorSpec[],
  expected: readonly TensorSpec[],
): void {
  if (actual.length !== expected.length) {
    issue(path, `expected ${expected.length} tensors (${expected.map((e) => e.name).join(', ')}), found ${actual.length}`);
    return;
  }
  expected.forEach((want, i) => {
    const got = actual[i];
    if (got.name !== want.name) issue([...path, i, 'name'], `expected "${want.name}", found "${got.name}"`);
    if (got.dtype !== want.dtype) issue([...path, i, 'dtype'], `expected ${want.dtype}, found ${got.dtype}`);
    if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) {
      issue([...path, i, 'shape'], `expected ${JSON.stringify(want.shape)}, found ${JSON.stringify(got.shape)}`);
    }
  });
}

/** `manifest.graphs.head.inputs[3].dtype` style path for messages. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`), 'manifest');
}
