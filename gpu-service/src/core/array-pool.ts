/**
 * One thread's scratch typed arrays, kept from request to request, so that the pixel work of a
 * request does not allocate megabytes of ArrayBuffers each time (V8 counts every backing store
 * against its heap limits: the more a thread allocates, the more often it scavenges and marks).
 *
 * Ownership: take() hands out an array that no one else holds until its taker gives it back;
 * give() takes back only the very array take() handed out and ignores anything else (an array
 * that is not the pool's, one already given back), so a caller may give back whatever it holds.
 * A taker gives an array back only once nothing reads or writes it any more: never one that is
 * transferred to another thread, kept in a cache or part of a result. Arrays taken but never
 * given back are ordinary garbage. Concurrent takers (awaits between take and give) get distinct
 * arrays. The contents of a taken array are undefined unless it is taken zeroed.
 *
 * Bounded: capacities are powers of two from MIN_POOLED_BYTES (the array is a view of `length`
 * elements at the start of a buffer of its class), so sizes that vary a little from request to
 * request share buffers; arrays over maxArrayBytes are plain allocations and never kept; the
 * free buffers kept total at most maxBytes.
 * `poison` (tests): a given-back array is filled with 0xff bytes (NaN as floats), so a read after
 * give changes the answer instead of passing unnoticed.
 */

/** Smaller arrays are plain allocations: not worth a pool (V8 keeps the smallest on its heap). */
export const MIN_POOLED_BYTES = 4096;

export interface ArrayPoolLimits {
  /** Free buffers kept, in bytes. */
  maxBytes: number;
  /** Largest array the pool hands out (larger ones are allocated and never kept). */
  maxArrayBytes: number;
  /** Fill given-back arrays with 0xff (tests). */
  poison?: boolean;
}

/** Per thread: enough for a 2 MP image's arrays, none of a 12 MP photo's full-size ones. */
export const DEFAULT_ARRAY_POOL_LIMITS: ArrayPoolLimits = { maxBytes: 32 * 2 ** 20, maxArrayBytes: 8 * 2 ** 20 };

type Typed = Uint8Array | Int32Array | Float32Array | Float64Array;
interface TypedConstructor<T extends Typed> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

export class ArrayPool {
  /** Free buffers by byte capacity. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Each lent buffer -> the one view of it that was handed out. */
  private readonly lent = new WeakMap<ArrayBuffer, Typed>();
  private keptBytes = 0;
  /** Arrays handed out from a kept buffer, and freshly allocated ones (for tests and benches). */
  reused = 0;
  allocated = 0;

  constructor(private readonly limits: ArrayPoolLimits = DEFAULT_ARRAY_POOL_LIMITS) {}

  /** Bytes of free buffers kept now. */
  get bytes(): number {
    return this.keptBytes;
  }

  uint8(length: number, zeroed = false): Uint8Array {
    return this.take(Uint8Array, length, zeroed);
  }

  int32(length: number, zeroed = false): Int32Array {
    return this.take(Int32Array, length, zeroed);
  }

  float32(length: number, zeroed = false): Float32Array {
    return this.take(Float32Array, length, zeroed);
  }

  float64(length: number, zeroed = false): Float64Array {
    return this.take(Float64Array, length, zeroed);
  }

  /** Takes back an array this pool handed out (anything else is ignored). */
  give(array: Typed | null | undefined): void {
    if (!array || this.lent.get(array.buffer as ArrayBuffer) !== array) return;
    const buffer = array.buffer as ArrayBuffer;
    this.lent.delete(buffer);
    if (this.limits.poison) new Uint8Array(buffer).fill(0xff);
    if (this.keptBytes + buffer.byteLength > this.limits.maxBytes) return; // full: let it go
    const list = this.free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    this.keptBytes += buffer.byteLength;
  }

  private take<T extends Typed>(Kind: TypedConstructor<T>, length: number, zeroed: boolean): T {
    const bytes = length * Kind.BYTES_PER_ELEMENT;
    if (bytes < MIN_POOLED_BYTES || bytes > this.limits.maxArrayBytes) return new Kind(length);
    const capacity = 2 ** Math.ceil(Math.log2(bytes));
    let buffer = this.free.get(capacity)?.pop();
    const reused = buffer !== undefined;
    if (buffer) {
      this.keptBytes -= capacity;
      this.reused++;
    } else {
      buffer = new ArrayBuffer(capacity); // zero-filled
      this.allocated++;
    }
    const array = new Kind(buffer, 0, length);
    if (zeroed && reused) array.fill(0);
    this.lent.set(buffer, array);
    return array;
  }
}
