;; PNG row filters reversed with WebAssembly SIMD, for pixels of 1 to 8 bytes (every layout the
;; decoder takes: grey, palette, grey+alpha, RGB, RGBA at their depths); the same bytes as
;; unfilterRow in png-pixels.ts. One pixel per step (a byte for depths under 8),
;; its bytes in the low lanes of an i16x8 (8 bytes loaded, the lanes past the pixel unused): Sub,
;; Average and Paeth depend on the pixel to the left, so the step runs along the row with that
;; pixel kept in a register; Up adds 16 bytes at a time.
;;
;; rgba_to_rgb(src, dst, pixels): 8-bit RGBA -> RGB, 4 pixels per shuffle (16 bytes stored for 12:
;;   4 bytes of slack after dst).
;;
;; unfilter(src, dst, zero, n, height, bpp) -> 0, or 1 at a filter byte over 4
;;   src: height rows of [filter byte, n bytes]; dst: height rows of n bytes, back to back;
;;   zero: n + 16 zero bytes (the row above the first). Each step writes 8 (Up: 16) bytes, so
;;   writes run up to 15 bytes past a row (the next row is written after, or slack) and reads up
;;   to 15 bytes past src, dst and zero rows: the caller leaves 16 bytes of slack after each.
(module
  (memory (export "memory") 1)

  (func $up (param $s i32) (param $d i32) (param $p i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (v128.store (i32.add (local.get $d) (local.get $i))
          (i8x16.add (v128.load (i32.add (local.get $s) (local.get $i)))
                     (v128.load (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step))))

;; One step (inlined by hand: calls per pixel cost more than the pixel): the pixel's 8 bytes
;; loaded as u16 lanes, x + pred mod 256 kept in $a (the left pixel of the next step) and stored.

  ;; Sub (filter 1): x + a.
  (func $sub (param $s i32) (param $d i32) (param $n i32) (param $bpp i32)
    (local $i i32) (local $a v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (v128.and (v128.const i16x8 255 255 255 255 255 255 255 255)
          (i16x8.add (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $s) (local.get $i))))
                     (local.get $a))))
        (v128.store64_lane 0 (i32.add (local.get $d) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $a) (local.get $a)))
        (local.set $i (i32.add (local.get $i) (local.get $bpp)))
        (br $step))))

  ;; Average (filter 3): x + floor((a + b) / 2).
  (func $avg (param $s i32) (param $d i32) (param $p i32) (param $n i32) (param $bpp i32)
    (local $i i32) (local $a v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (v128.and (v128.const i16x8 255 255 255 255 255 255 255 255)
          (i16x8.add (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $s) (local.get $i))))
                     (i16x8.shr_u (i16x8.add (local.get $a) (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $p) (local.get $i)))))
                                  (i32.const 1)))))
        (v128.store64_lane 0 (i32.add (local.get $d) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $a) (local.get $a)))
        (local.set $i (i32.add (local.get $i) (local.get $bpp)))
        (br $step))))

  ;; Paeth (filter 4): x + the one of a, b, c nearest a + b - c (ties: a, then b).
  (func $paeth (param $s i32) (param $d i32) (param $p i32) (param $n i32) (param $bpp i32)
    (local $i i32) (local $a v128) (local $b v128) (local $c v128)
    (local $pa v128) (local $pb v128) (local $pc v128)
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $b (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $p) (local.get $i)))))
        (local.set $pa (i16x8.abs (i16x8.sub (local.get $b) (local.get $c))))
        (local.set $pb (i16x8.abs (i16x8.sub (local.get $a) (local.get $c))))
        (local.set $pc (i16x8.abs (i16x8.sub (i16x8.add (local.get $a) (local.get $b)) (i16x8.add (local.get $c) (local.get $c)))))
        (local.set $a (v128.and (v128.const i16x8 255 255 255 255 255 255 255 255)
          (i16x8.add (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $s) (local.get $i))))
            (v128.bitselect
              (local.get $a)
              (v128.bitselect (local.get $b) (local.get $c) (i16x8.le_s (local.get $pb) (local.get $pc)))
              (v128.and (i16x8.le_s (local.get $pa) (local.get $pb)) (i16x8.le_s (local.get $pa) (local.get $pc)))))))
        (v128.store64_lane 0 (i32.add (local.get $d) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $a) (local.get $a)))
        (local.set $c (local.get $b))
        (local.set $i (i32.add (local.get $i) (local.get $bpp)))
        (br $step))))

  (func (export "unfilter") (param $src i32) (param $dst i32) (param $zero i32) (param $n i32) (param $height i32) (param $bpp i32) (result i32)
    (local $y i32) (local $filter i32) (local $prev i32)
    (local.set $prev (local.get $zero))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $y) (local.get $height)))
        (local.set $filter (i32.load8_u (local.get $src)))
        (if (i32.gt_u (local.get $filter) (i32.const 4)) (then (return (i32.const 1))))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (if (i32.eqz (local.get $filter))
          (then (memory.copy (local.get $dst) (local.get $src) (local.get $n))))
        (if (i32.eq (local.get $filter) (i32.const 1))
          (then (call $sub (local.get $src) (local.get $dst) (local.get $n) (local.get $bpp))))
        (if (i32.eq (local.get $filter) (i32.const 2))
          (then (call $up (local.get $src) (local.get $dst) (local.get $prev) (local.get $n))))
        (if (i32.eq (local.get $filter) (i32.const 3))
          (then (call $avg (local.get $src) (local.get $dst) (local.get $prev) (local.get $n) (local.get $bpp))))
        (if (i32.eq (local.get $filter) (i32.const 4))
          (then (call $paeth (local.get $src) (local.get $dst) (local.get $prev) (local.get $n) (local.get $bpp))))
        (local.set $prev (local.get $dst))
        (local.set $dst (i32.add (local.get $dst) (local.get $n)))
        (local.set $src (i32.add (local.get $src) (local.get $n)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $row)))
    (i32.const 0))

  (func (export "rgba_to_rgb") (param $src i32) (param $dst i32) (param $pixels i32)
    (local $i i32)
    (block $done
      (loop $four
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $pixels)))
        (v128.store (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.const 3)))
          (i8x16.shuffle 0 1 2 4 5 6 8 9 10 12 13 14 0 0 0 0
            (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
            (v128.const i32x4 0 0 0 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $end
      (loop $one
        (br_if $end (i32.ge_u (local.get $i) (local.get $pixels)))
        (i32.store16 (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.const 3)))
          (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (i32.store8 offset=2 (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.const 3)))
          (i32.load8_u offset=2 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))))

