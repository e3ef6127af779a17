import type { Bundle } from '../bundle/read.js';
import { ClipTokenizer } from './clip-bpe.js';

/** The tokenizer a bundle names: its merges file, merges_used merges; vocabulary checked. */
export async function loadTokenizer(bundle: Bundle): Promise<ClipTokenizer> {
  const spec = bundle.manifest.text.tokenizer;
  const tokenizer = await ClipTokenizer.fromMergesFile(bundle.path(spec.merges_file), spec.merges_used);
  if (tokenizer.vocabSize !== spec.vocab_size || tokenizer.sotId !== spec.sot_id || tokenizer.eotId !== spec.eot_id) {
    throw new Error(
      `bundle ${bundle.dir}: tokenizer gives vocab ${tokenizer.vocabSize} (sot ${tokenizer.sotId}, eot ${tokenizer.eotId}), ` +
        `manifest.text.tokenizer says ${spec.vocab_size} (${spec.sot_id}, ${spec.eot_id})`,
    );
  }
  return tokenizer;
}
