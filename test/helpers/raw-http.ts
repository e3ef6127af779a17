/**
 * HTTP/1.1 by hand over a socket, for the tests of the service's Node server: the test chooses
 * how a request's body arrives (split anywhere, chunked, cut short) and sees the answer's bytes
 * as they came (the status line and header lines in order, the body).
 */
import { createConnection } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** The status line and header lines as received, `\r\n`-separated. */
  head: string;
  /** The body as text (UTF-8), de-chunked. */
  body: string;
  /** The body's bytes, de-chunked. */
  bytes: Buffer;
}

export interface RawOptions {
  /** Frame the pieces as chunked transfer coding instead of a Content-Length. */
  chunked?: boolean;
  /** Close the connection after the pieces (no answer expected). */
  cut?: boolean;
  /** Declare this Content-Length instead of the pieces' total. */
  contentLength?: number;
  path?: string;
  /** Send no Host header (HTTP/1.0 request line then). */
  noHost?: boolean;
  host?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One POST over its own connection: `head` as header lines, the body in `pieces`, each sent on
 * its own after a short pause. Resolves with the answer once the server closes (Connection: close).
 */
export async function raw(port: number, head: [string, string][], pieces: Uint8Array[], options: RawOptions = {}): Promise<RawAnswer | undefined> {
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const length = options.contentLength ?? pieces.reduce((sum, piece) => sum + piece.length, 0);
  const framing: [string, string][] = options.chunked ? [['transfer-encoding', 'chunked']] : [['content-length', String(length)]];
  const host: [string, string][] = options.noHost ? [] : [['host', options.host ?? `127.0.0.1:${port}`]];
  const lines = [...host, ['connection', 'close'], ...framing, ...head].map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`POST ${options.path ?? '/v1/segment'} HTTP/1.${options.noHost ? 0 : 1}\r\n${lines.join('')}\r\n`);
  for (const piece of pieces) {
    await sleep(3);
    if (options.chunked) socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    else socket.write(piece);
  }
  if (options.cut) {
    await sleep(20);
    socket.destroy();
    await ended;
    return undefined;
  }
  if (options.chunked) socket.write('0\r\n\r\n');
  await ended;
  return parseAnswers(Buffer.concat(received))[0];
}

/**
 * Several requests (whole, as bytes) written at once on one keep-alive connection; their answers
 * in order: all of them, or those that came before the server closed or `waitMs` passed.
 */
export async function pipelined(port: number, requests: Uint8Array[], answers = requests.length, waitMs = 2000): Promise<RawAnswer[]> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const received: Buffer[] = [];
  const done = new Promise<RawAnswer[]>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const parsed = parseAnswers(Buffer.concat(received));
      if (parsed.length >= answers) resolve(parsed);
    });
    socket.once('close', () => resolve(parseAnswers(Buffer.concat(received))));
    setTimeout(() => resolve(parseAnswers(Buffer.concat(received))), waitMs);
  });
  for (const request of requests) socket.write(request);
  const result = await done;
  socket.destroy();
  return result;
}

/** A request's bytes: request line, Host, Content-Length (or chunked framing, the body one chunk) and `head` lines, then the body. */
export function requestBytes(port: number, head: [string, string][], body: Uint8Array, options: { chunked?: boolean } = {}): Uint8Array {
  const framing = options.chunked ? ['transfer-encoding', 'chunked'] : ['content-length', String(body.length)];
  const lines = [['host', `127.0.0.1:${port}`], framing, ...head].map(([name, value]) => `${name}: ${value}\r\n`);
  const framed = options.chunked ? [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')] : [body];
  return Buffer.concat([Buffer.from(`POST /v1/segment HTTP/1.1\r\n${lines.join('')}\r\n`), ...framed]);
}

/** The complete answers in `bytes` (Content-Length or chunked bodies). */
function parseAnswers(bytes: Buffer): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let pos = 0;
  for (;;) {
    const split = bytes.indexOf('\r\n\r\n', pos);
    if (split < 0) return answers;
    const head = bytes.toString('latin1', pos, split);
    const [statusLine, ...headerLines] = head.split('\r\n');
    const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    let body: Buffer;
    if (headers['transfer-encoding'] === 'chunked') {
      const chunked = unchunk(bytes, split + 4);
      if (!chunked) return answers;
      [body, pos] = chunked;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (bytes.length < split + 4 + length) return answers;
      body = bytes.subarray(split + 4, split + 4 + length);
      pos = split + 4 + length;
    }
    answers.push({ status: Number(statusLine.split(' ')[1]), headers, head, body: body.toString('utf8'), bytes: body });
  }
}

/** A chunked body starting at `pos`: its bytes and where the message ends; undefined while incomplete. */
function unchunk(bytes: Buffer, pos: number): [Buffer, number] | undefined {
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', pos);
    if (lineEnd < 0) return undefined;
    const size = parseInt(bytes.toString('latin1', pos, lineEnd), 16);
    if (!size) return [Buffer.concat(parts), lineEnd + 4];
    if (bytes.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}

/** `bytes` split at `cuts` (offsets). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const bounds = [0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length).sort((a, b) => a - b), bytes.length];
  return bounds.slice(1).map((end, i) => bytes.subarray(bounds[i], end));
}
