import { describe, expect, it } from 'vitest';
import { MultipartError, multipartBoundary, parseMultipart } from '../../../gpu-service/src/server/multipart.js';

/** A body as a real client builds it (undici's FormData serialisation). */
async function encode(form: FormData): Promise<{ body: Uint8Array; boundary: string }> {
  const response = new Response(form);
  const boundary = multipartBoundary(response.headers.get('content-type')!);
  return { body: new Uint8Array(await response.arrayBuffer()), boundary: boundary! };
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

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
  ])('refuses %s', (_what, raw) => {
    expect(() => parseMultipart(new TextEncoder().encode(raw), 'b')).toThrow(MultipartError);
  });
});
