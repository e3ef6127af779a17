/**
 * The `cris` command line:
 *
 *   cris segment IMAGE "phrase" ["phrase"...] [--out mask.png] [--overlay overlay.png]
 *        [--format polygon|rle|png] [--threshold T] [--presence-threshold P] [--json]
 *        [--endpoint URL] [--key KEY]          call the API (default http://127.0.0.1:8787)
 *        [--local [--bundle DIR]]              run the model bundle in this process, no servers
 */
import { parseArgs } from 'node:util';
import { segmentCommand, type SegmentCommandOptions } from './segment.js';

const USAGE = `usage: cris segment IMAGE "phrase" ["phrase"...] [options]

  --out FILE         write the (first phrase's) mask as a PNG, 255 inside
  --overlay FILE     write the image with the mask drawn over it as a PNG
  --format F         mask format in the --json output: polygon (default), rle, png
  --threshold T      probability threshold in (0, 1); the model's default when absent
  --presence-threshold P
                     presence threshold in [0, 1]: a phrase is found when the model's presence
                     probability is above it (the model's default; no effect without a presence output)
  --json             print the whole result as JSON instead of a summary
  --endpoint URL     API base URL (env CRIS_ENDPOINT, default http://127.0.0.1:8787)
  --key KEY          API key (env CRIS_API_KEY)
  --local            run the model in-process from a bundle, no servers
  --bundle DIR       bundle folder for --local (env CRIS_BUNDLE, default models/cris-shapes-s)
  -h, --help         this text`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        overlay: { type: 'string' },
        format: { type: 'string' },
        threshold: { type: 'string' },
        'presence-threshold': { type: 'string' },
        json: { type: 'boolean' },
        endpoint: { type: 'string' },
        key: { type: 'string' },
        local: { type: 'boolean' },
        bundle: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`cris: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, image, ...phrases] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (command !== 'segment' || image === undefined || phrases.length === 0) {
    console.error(`cris: expected \`segment IMAGE "phrase"\`\n\n${USAGE}`);
    return 2;
  }
  const format = values.format ?? 'polygon';
  if (format !== 'polygon' && format !== 'rle' && format !== 'png') {
    console.error(`cris: --format must be polygon, rle or png, not ${format}`);
    return 2;
  }
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) {
    console.error('cris: --threshold must be a number between 0 and 1');
    return 2;
  }
  const presenceValue = values['presence-threshold'];
  const presenceThreshold = presenceValue === undefined ? undefined : Number(presenceValue);
  if (presenceThreshold !== undefined && !(presenceThreshold >= 0 && presenceThreshold <= 1)) {
    console.error('cris: --presence-threshold must be a number from 0 to 1');
    return 2;
  }
  const options: SegmentCommandOptions = {
    image,
    phrases,
    format,
    threshold,
    presenceThreshold,
    out: values.out,
    overlay: values.overlay,
    json: values.json ?? false,
    local: values.local ?? false,
    bundle: values.bundle ?? process.env.CRIS_BUNDLE,
    endpoint: values.endpoint ?? process.env.CRIS_ENDPOINT ?? 'http://127.0.0.1:8787',
    apiKey: values.key ?? process.env.CRIS_API_KEY,
  };
  try {
    await segmentCommand(options);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(`cris: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`);
    return 1;
  }
}
