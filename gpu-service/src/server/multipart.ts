/**
 * multipart/form-data in one pass over the body (RFC 7578): each part's name, filename (files
 * only) and bytes as a view into the body, no copies. The delimiters are found with Buffer's
 * native indexOf; only the part headers are decoded. Throws MultipartError on a malformed body.
 */

export interface MultipartPart {
  name: string;
  /** Present for file parts (a `filename` parameter, possibly empty). */
  filename?: string;
  /** The part's bytes: a view into the body. */
  data: Uint8Array;
}

export class MultipartError extends Error {}

const CRLF = 0x0d0a;
const HEADERS_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart content type; null when absent. */
export function multipartBoundary(contentType: string): string | null {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : null;
}

export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter may open the body without the CRLF in front of it.
  let pos = bytes.indexOf(delimiter.subarray(2));
  if (pos < 0) throw new MultipartError('no boundary in the body');
  pos += delimiter.length - 2;
  const parts: MultipartPart[] = [];
  for (;;) {
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return parts; // "--": the close delimiter
    while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos++; // transport padding
    if (pos + 2 > bytes.length || bytes.readUInt16BE(pos) !== CRLF) throw new MultipartError('a boundary is not followed by CRLF');
    pos += 2;
    const headersEnd = bytes.indexOf(HEADERS_END, pos);
    if (headersEnd < 0) throw new MultipartError('a part has no end of headers');
    const dataEnd = bytes.indexOf(delimiter, headersEnd + 4);
    if (dataEnd < 0) throw new MultipartError('a part is not closed by a boundary');
    parts.push(part(bytes.toString('utf8', pos, headersEnd), body.subarray(headersEnd + 4, dataEnd)));
    pos = dataEnd + delimiter.length;
  }
}

/** A part: name and filename from its Content-Disposition: form-data header, and its bytes. */
function part(headers: string, data: Uint8Array): MultipartPart {
  const line = headers.split('\r\n').find((header) => /^content-disposition\s*:/i.test(header));
  if (!line || !/:\s*form-data\s*(;|$)/i.test(line)) throw new MultipartError('a part has no Content-Disposition: form-data');
  const name = parameter(line, 'name');
  if (name === undefined) throw new MultipartError('a part has no name');
  const filename = parameter(line, 'filename');
  return filename === undefined ? { name, data } : { name, filename, data };
}

/** A disposition parameter's pattern: quoted (backslash escapes) or bare. Compiled once per key. */
const parameterPattern = (key: string) => new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
const PARAMETERS = { name: parameterPattern('name'), filename: parameterPattern('filename') };

function parameter(line: string, key: keyof typeof PARAMETERS): string | undefined {
  const match = PARAMETERS[key].exec(line);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}
