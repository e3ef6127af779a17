;; The bicubic letterbox + CLIP normalisation of letterbox-fused.ts in WebAssembly SIMD, to the bit:
;; per output pixel the 4x4 source window of packed RGB bytes times OpenCV's 15-bit 2-D weights,
;; i32x4.dot_i16x8_s doing 8 multiply-adds at a time, (sum + 2^14) >> 15 clamped to 0..255, then
;; each channel's byte through its normalisation table into the [3, H, W] float32 planes.
;; Assembled by gpu-service/deploy/assemble-wasm.mjs (wabt) into letterbox-simd-bytes.ts.
;;
;; Memory, laid out by letterbox-simd.ts (byte offsets; everything little-endian):
;;   0        weights: [1024, 16] i16, index (fy * 32 + fx) * 16 + row * 4 + col
;;   lut      [3, 256] f32 normalisation tables
;;   cols     per output column x, 2 i32: the window's first byte in a source row (-1: the window
;;            lies wholly outside the source), and fx * 32 (its weights' offset within a phase row)
;;   rows     per output row y, 8 i32: the 4 source rows' first bytes (r0 = -1: the window lies
;;            wholly outside), fy * 1024 (the weights' phase row), 3 unused
;;   out      [3, H, W] f32
;;   slots    the source rows the windows read (written by $layout), then the staged source rows
;; Source rows hold packed RGB with at least 3 pixels of the border colour before and after them
;; and 4 readable bytes after that (a window of 4 pixels is 12 bytes; it is read as 16), so a window
;; that straddles an edge is read like an interior one (the sum is then the same as OpenCV's
;; border-constant sum, since the weights add up to 2^15). Rows outside the source point at a row
;; of the border colour.
(module
  (memory (export "memory") 1)

  ;; 3 bytes c0 c1 c2 repeated n times from $at.
  (func $fill_rgb (param $at i32) (param $n i32) (param $c0 i32) (param $c1 i32) (param $c2 i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $at) (i32.mul (local.get $n) (i32.const 3))))
    (block $done
      (loop $px
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (i32.store8 (local.get $at) (local.get $c0))
        (i32.store8 offset=1 (local.get $at) (local.get $c1))
        (i32.store8 offset=2 (local.get $at) (local.get $c2))
        (local.set $at (i32.add (local.get $at) (i32.const 3)))
        (br $px))))

  ;; Slot k (k < n) at $slots + 9 + k * (rowBytes + 9) := staged row $rowOf[k] ($stage + i * rowBytes);
  ;; slot n := a row of the border colour; the 9-byte gaps before every slot and after the last
  ;; := the border colour.
  (func (export "layout")
    (param $stage i32) (param $rowBytes i32) (param $rowOf i32) (param $n i32) (param $slots i32)
    (param $c0 i32) (param $c1 i32) (param $c2 i32)
    (local $k i32) (local $stride i32) (local $at i32)
    (local.set $stride (i32.add (local.get $rowBytes) (i32.const 9)))
    (block $done
      (loop $slot
        (local.set $at (i32.add (local.get $slots) (i32.mul (local.get $k) (local.get $stride))))
        (call $fill_rgb (local.get $at) (i32.const 3) (local.get $c0) (local.get $c1) (local.get $c2))
        (br_if $done (i32.gt_s (local.get $k) (local.get $n)))
        (if (i32.lt_s (local.get $k) (local.get $n))
          (then
            (memory.copy
              (i32.add (local.get $at) (i32.const 9))
              (i32.add (local.get $stage)
                (i32.mul (i32.load (i32.add (local.get $rowOf) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes)))
              (local.get $rowBytes)))
          (else
            (call $fill_rgb (i32.add (local.get $at) (i32.const 9)) (i32.div_u (local.get $rowBytes) (i32.const 3))
              (local.get $c0) (local.get $c1) (local.get $c2))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $slot))))

  (func (export "letterbox")
    (param $cols i32) (param $W i32) (param $rows i32) (param $H i32) (param $lut i32) (param $out i32)
    (param $pad0 f32) (param $pad1 f32) (param $pad2 f32)
    (local $plane i32) (local $y i32) (local $x i32) (local $o i32) (local $rp i32) (local $cp i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $wrow i32) (local $c i32) (local $w i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $w01 v128) (local $w23 v128)
    (local $t v128) (local $u v128) (local $vr v128) (local $vg v128) (local $vb v128) (local $luts v128)
    (local.set $plane (i32.shl (i32.mul (local.get $W) (local.get $H)) (i32.const 2)))
    ;; table addresses per lane: [lut, lut + 1 KiB, lut + 2 KiB, lut]
    (local.set $luts
      (i32x4.add (i32x4.splat (local.get $lut)) (v128.const i32x4 0 1024 2048 0)))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_s (local.get $y) (local.get $H)))
        (local.set $rp (i32.add (local.get $rows) (i32.shl (local.get $y) (i32.const 5))))
        (local.set $r0 (i32.load (local.get $rp)))
        (local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (local.get $y) (local.get $W)) (i32.const 2))))
        (local.set $x (i32.const 0))
        (if (i32.lt_s (local.get $r0) (i32.const 0))
          (then
            ;; the whole row is padding
            (block $fill_done
              (loop $fill
                (br_if $fill_done (i32.ge_s (local.get $x) (local.get $W)))
                (local.set $c (i32.add (local.get $o) (i32.shl (local.get $x) (i32.const 2))))
                (f32.store (local.get $c) (local.get $pad0))
                (f32.store (i32.add (local.get $c) (local.get $plane)) (local.get $pad1))
                (f32.store (i32.add (local.get $c) (i32.shl (local.get $plane) (i32.const 1))) (local.get $pad2))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $fill))))
          (else
            (local.set $r1 (i32.load offset=4 (local.get $rp)))
            (local.set $r2 (i32.load offset=8 (local.get $rp)))
            (local.set $r3 (i32.load offset=12 (local.get $rp)))
            (local.set $wrow (i32.load offset=16 (local.get $rp)))
            (block $cols_done
              (loop $col
                (br_if $cols_done (i32.ge_s (local.get $x) (local.get $W)))
                (local.set $cp (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 3))))
                (local.set $c (i32.load (local.get $cp)))
                (if (i32.lt_s (local.get $c) (i32.const 0))
                  (then
                    (local.set $c (i32.add (local.get $o) (i32.shl (local.get $x) (i32.const 2))))
                    (f32.store (local.get $c) (local.get $pad0))
                    (f32.store (i32.add (local.get $c) (local.get $plane)) (local.get $pad1))
                    (f32.store (i32.add (local.get $c) (i32.shl (local.get $plane) (i32.const 1))) (local.get $pad2)))
                  (else
                    (local.set $w (i32.add (local.get $wrow) (i32.load offset=4 (local.get $cp))))
                    (local.set $w01 (v128.load (local.get $w)))
                    (local.set $w23 (v128.load offset=16 (local.get $w)))
                    ;; bytes R0 G0 B0 R1 G1 B1 R2 G2 B2 R3 G3 B3 of the window's 4 rows
                    (local.set $a0 (v128.load (i32.add (local.get $r0) (local.get $c))))
                    (local.set $a1 (v128.load (i32.add (local.get $r1) (local.get $c))))
                    (local.set $a2 (v128.load (i32.add (local.get $r2) (local.get $c))))
                    (local.set $a3 (v128.load (i32.add (local.get $r3) (local.get $c))))
                    ;; each row planar: [R x4, G x4, B x4, -]
                    (local.set $a0 (i8x16.shuffle 0 3 6 9 1 4 7 10 2 5 8 11 0 0 0 0 (local.get $a0) (local.get $a0)))
                    (local.set $a1 (i8x16.shuffle 0 3 6 9 1 4 7 10 2 5 8 11 0 0 0 0 (local.get $a1) (local.get $a1)))
                    (local.set $a2 (i8x16.shuffle 0 3 6 9 1 4 7 10 2 5 8 11 0 0 0 0 (local.get $a2) (local.get $a2)))
                    (local.set $a3 (i8x16.shuffle 0 3 6 9 1 4 7 10 2 5 8 11 0 0 0 0 (local.get $a3) (local.get $a3)))
                    ;; rows 0-1: [R row0, R row1, G row0, G row1] and [B row0, B row1, -, -] (32-bit interleaves)
                    (local.set $t (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
                    (local.set $u (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
                    (local.set $vr (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $t)) (local.get $w01)))
                    (local.set $vg (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $t)) (local.get $w01)))
                    (local.set $vb (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $u)) (local.get $w01)))
                    ;; rows 2-3
                    (local.set $t (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
                    (local.set $u (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
                    (local.set $vr (i32x4.add (local.get $vr)
                      (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $t)) (local.get $w23))))
                    (local.set $vg (i32x4.add (local.get $vg)
                      (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $t)) (local.get $w23))))
                    (local.set $vb (i32x4.add (local.get $vb)
                      (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $u)) (local.get $w23))))
                    ;; horizontal sums: [R, G, B, B]
                    (local.set $t (i32x4.add
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $vr) (local.get $vg))
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $vr) (local.get $vg))))
                    (local.set $u (i32x4.add
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $vb) (local.get $vb))
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $vb) (local.get $vb))))
                    (local.set $t (i32x4.add
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $t) (local.get $u))
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $t) (local.get $u))))
                    ;; bytes: (sum + 2^14) >> 15, clamped; then each lane's table entry address
                    (local.set $t (i32x4.shr_s (i32x4.add (local.get $t) (v128.const i32x4 16384 16384 16384 16384)) (i32.const 15)))
                    (local.set $t (i32x4.min_s (i32x4.max_s (local.get $t) (v128.const i32x4 0 0 0 0)) (v128.const i32x4 255 255 255 255)))
                    (local.set $t (i32x4.add (i32x4.shl (local.get $t) (i32.const 2)) (local.get $luts)))
                    (local.set $c (i32.add (local.get $o) (i32.shl (local.get $x) (i32.const 2))))
                    (f32.store (local.get $c) (f32.load (i32x4.extract_lane 0 (local.get $t))))
                    (f32.store (i32.add (local.get $c) (local.get $plane)) (f32.load (i32x4.extract_lane 1 (local.get $t))))
                    (f32.store (i32.add (local.get $c) (i32.shl (local.get $plane) (i32.const 1)))
                      (f32.load (i32x4.extract_lane 2 (local.get $t))))))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $col)))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $row)))))
