import FormDataStream from 'form-data';
import { describe, expect, it } from 'vitest';
import { MultipartError, multipartBoundary, parseMultipart } from '../../../gpu-service/src/server/multipart.js';

/** A body as a real client builds it (undici's FormData serialisation). */
async function encode(form: FormData): Promise<{ body: Uint8Array; boundary: string }> {
  const response = new Response(form);
  const boundary = multipartBoundary(response.headers.get('content-type')!);
  return { body: new Uint8Array(await response.arrayBuffer()), boundary: boundary! };
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** The same body as the `form-data` npm package builds it (Node clients, axios, got...). */
function encodeWithFormDataPackage(fields: [string, string | { file: Uint8Array; filename: string; type: string }][]): { body: Uint8Array; boundary: string } {
  const form = new FormDataStream();
  for (const [name, value] of fields) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, Buffer.from(value.file), { filename: value.filename, contentType: value.type });
  }
  return { body: new Uint8Array(form.getBuffer()), boundary: multipartBoundary(form.getHeaders()['content-type'] as string)! };
}

/** What a parse gives, comparable across encoders. */
const summary = (parts: ReturnType<typeof parseMultipart>) => parts.map((p) => ({ name: p.name, filename: p.filename, data: Buffer.from(p.data).toString('hex') }));

describe('parseMultipart', () => {
  it('reads fields and files as FormData sent them, file bytes untouched (CRLF and boundary-like bytes inside)', async () => {
    const file = new TextEncoder().encode('\r\n--not-the-boundary\r\n\r\nbinary\u0000\r\n');
    const form = new FormData();
    form.append('image', new Blob([file], { type: 'image/png' }), 'photo.png');
    form.append('text', 'the red circle');
    form.append('text', 'le cercle «rouge» — ünïcode');
    form.append('options', '{"format":"rle"}');
    const { body, boundary } = await encode(form);
    const parts = parseMultipart(body, boundary);
    expect(parts.map((p) => [p.name, p.filename])).toEqual([['image', 'photo.png'], ['text', undefined], ['text', undefined], ['options', undefined]]);
    expect(Array.from(parts[0].data)).toEqual(Array.from(file));
    expect(parts[0].data.buffer).toBe(body.buffer); // a view, not a copy
    expect(parts.slice(1).map((p) => text(p.data))).toEqual(['the red circle', 'le cercle «rouge» — ünïcode', '{"format":"rle"}']);
  });

  it('reads the bodies undici FormData and the form-data package build for one form as the same parts', async () => {
    // a file whose bytes hold CRLFs, "--", a boundary-looking line and a NUL; a CR as its last byte
    const file = new Uint8Array([...new TextEncoder().encode('\r\n--------------------------0\r\n\r\n--\u0000'), 0x89, 0x50, 0x0d]);
    const fields: [string, string | { file: Uint8Array; filename: string; type: string }][] = [
      ['image', { file, filename: 'photo.png', type: 'image/png' }],
      ['text', 'the red circle'],
      ['text', 'le cercle «rouge» — ünïcode\r\nsecond line'],
      ['text', ''],
      ['options', '{"format":"rle","threshold":0.4}'],
    ];
    const form = new FormData();
    for (const [name, value] of fields) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, new Blob([value.file as Uint8Array<ArrayBuffer>], { type: value.type }), value.filename);
    }
    const undici = await encode(form);
    const npm = encodeWithFormDataPackage(fields);
    expect(Buffer.from(npm.body).equals(Buffer.from(undici.body))).toBe(false); // two different encodings
    const parsed = summary(parseMultipart(undici.body, undici.boundary));
    expect(summary(parseMultipart(npm.body, npm.boundary))).toEqual(parsed);
    expect(parsed.map((p) => p.name)).toEqual(['image', 'text', 'text', 'text', 'options']);
    expect(parsed[0]).toEqual({ name: 'image', filename: 'photo.png', data: Buffer.from(file).toString('hex') });
  });

  it('reads an empty file, an empty field, and quoted or bare parameters', () => {
    const body = new TextEncoder().encode(
      'preamble\r\n--b\r\nContent-Disposition: form-data; name=text\r\n\r\n\r\n' +
        '--b\r\ncontent-disposition: form-data; name="image"; filename=""\r\nContent-Type: image/png\r\n\r\n\r\n--b--\r\n',
    );
    const parts = parseMultipart(body, 'b');
    expect(parts.map((p) => [p.name, p.filename, p.data.length])).toEqual([['text', undefined, 0], ['image', '', 0]]);
  });

  it('takes the boundary from the content type, quoted or not', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b:c"')).toBe('a b:c');
    expect(multipartBoundary('multipart/form-data')).toBeNull();
  });

  it.each([
    ['no boundary at all', '--x\r\nnot really multipart'],
    ['a part never closed', '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello'],
    ['headers never ended', '--b\r\nContent-Disposition: form-data; name="text"\r\n'],
    ['a part without a name', '--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--'],
    ['a part that is not form-data', '--b\r\nContent-Disposition: attachment; name="x"\r\n\r\nx\r\n--b--'],
    ['garbage after a boundary', '--bXYZ\r\nContent-Disposition: form-data; name="x"\r\n\r\nx\r\n--b--'],
    ['a bare LF instead of CRLF after the boundary', '--b\nContent-Disposition: form-data; name="x"\r\n\r\nx\r\n--b--'],
    ['a delimiter with a bare LF in front (no CRLF)', '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nx\n--b--'],
    ['an empty body', ''],
  ])('refuses %s', (_what, raw) => {
    expect(() => parseMultipart(new TextEncoder().encode(raw), 'b')).toThrow(MultipartError);
  });
});
