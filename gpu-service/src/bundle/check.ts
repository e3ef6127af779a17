/**
 * Checks of the ONNX side of a bundle: the `metadata_props` stamped into each graph file
 * (read straight from the protobuf, skipping the graph), and a session's input/output names,
 * element types and shapes against the manifest.
 */
import { open } from 'node:fs/promises';
import { BUNDLE_FORMAT, type BundleManifest, type GraphSpec } from './schema.js';

/** ModelProto.metadata_props is field 14 (StringStringEntryProto: key = 1, value = 2). */
const METADATA_PROPS_FIELD = 14;

function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 128;
    if ((bytes[i] & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error('truncated varint');
}

function parseEntry(bytes: Uint8Array): [string, string] {
  const text = new TextDecoder();
  let key = '';
  let value = '';
  for (let p = 0; p < bytes.length; ) {
    const tag = readVarint(bytes, p);
    const field = Math.floor(tag.value / 8);
    if (tag.value % 8 !== 2) throw new Error('unexpected wire type in metadata entry');
    const len = readVarint(bytes, tag.next);
    const data = bytes.subarray(len.next, len.next + len.value);
    if (field === 1) key = text.decode(data);
    if (field === 2) value = text.decode(data);
    p = len.next + len.value;
  }
  return [key, value];
}

/** The `metadata_props` of an ONNX model file, read by walking its top-level protobuf fields. */
export async function readOnnxMetadata(path: string): Promise<Record<string, string>> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const head = new Uint8Array(32);
    const props: Record<string, string> = {};
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await file.read(head, 0, head.length, pos);
      const window = head.subarray(0, bytesRead);
      const tag = readVarint(window, 0);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (wire === 0) {
        pos += readVarint(window, tag.next).next;
      } else if (wire === 1) {
        pos += tag.next + 8;
      } else if (wire === 5) {
        pos += tag.next + 4;
      } else if (wire === 2) {
        const len = readVarint(window, tag.next);
        const start = pos + len.next;
        if (field === METADATA_PROPS_FIELD) {
          const entry = new Uint8Array(len.value);
          await file.read(entry, 0, len.value, start);
          const [key, value] = parseEntry(entry);
          props[key] = value;
        }
        pos = start + len.value;
      } else {
        throw new Error(`${path}: not an ONNX model (wire type ${wire} at byte ${pos})`);
      }
    }
    if (pos !== size) throw new Error(`${path}: not an ONNX model (fields overrun the file)`);
    return props;
  } finally {
    await file.close();
  }
}

/** Problems (field path + message) with a graph's `cris.*` metadata; empty when it matches. */
export function checkGraphMetadata(graph: string, props: Record<string, string>, manifest: BundleManifest): string[] {
  const wanted: Record<string, string> = { 'cris.id': manifest.id, 'cris.version': manifest.version, 'cris.format': BUNDLE_FORMAT };
  return Object.entries(wanted)
    .filter(([key, value]) => props[key] !== value)
    .map(([key, value]) =>
      props[key] === undefined
        ? `${graph}.onnx metadata_props["${key}"]: missing (manifest says "${value}")`
        : `${graph}.onnx metadata_props["${key}"]: "${props[key]}" but manifest says "${value}"`,
    );
}

/** What a session reports about one input or output. */
export interface SessionValueInfo {
  name: string;
  /** Element type as onnxruntime names it ('float32', 'int64', ...); undefined for non-tensors. */
  type?: string;
  /** Dimensions: numbers, or a symbolic name / -1 for dynamic ones. */
  shape?: ReadonlyArray<number | string>;
}

/** Problems with a session's signature against the manifest's graph spec; empty when it matches. */
export function checkGraphSignature(
  graph: 'image_encoder' | 'head',
  spec: GraphSpec,
  inputs: readonly SessionValueInfo[],
  outputs: readonly SessionValueInfo[],
): string[] {
  const problems: string[] = [];
  for (const [side, wanted, got] of [
    ['inputs', spec.inputs, inputs],
    ['outputs', spec.outputs, outputs],
  ] as const) {
    const path = `manifest.graphs.${graph}.${side}`;
    const names = got.map((g) => g.name);
    if (JSON.stringify(names) !== JSON.stringify(wanted.map((w) => w.name))) {
      problems.push(`${path}: names ${JSON.stringify(wanted.map((w) => w.name))} but the ONNX graph has ${JSON.stringify(names)}`);
      continue;
    }
    wanted.forEach((w, i) => {
      const g = got[i];
      if (g.type !== undefined && g.type !== w.dtype) problems.push(`${path}[${i}].dtype: ${w.dtype} but the ONNX graph has ${g.type}`);
      if (g.shape !== undefined) {
        const dynamic = (d: number | string) => typeof d === 'string' || d < 0;
        const same =
          g.shape.length === w.shape.length &&
          w.shape.every((d, j) => (d === 'batch' ? dynamic(g.shape![j]) : g.shape![j] === d));
        if (!same) problems.push(`${path}[${i}].shape: ${JSON.stringify(w.shape)} but the ONNX graph has ${JSON.stringify(g.shape)}`);
      }
    });
  }
  return problems;
}
