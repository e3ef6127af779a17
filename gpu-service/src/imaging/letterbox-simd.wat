;; The bicubic letterbox + CLIP normalisation of letterbox-fused.ts in WebAssembly SIMD, to the bit:
;; per output pixel the 4x4 source window of packed RGB bytes times OpenCV's 15-bit 2-D weights,
;; i32x4.dot_i16x8_s doing 8 multiply-adds at a time, (sum + 2^14) >> 15 clamped to 0..255, then
;; each channel's byte through its normalisation table into the [3, H, W] float32 planes.
;; Assembled by gpu-service/deploy/assemble-wasm.mjs (wabt) into letterbox-simd-bytes.ts.
;;
;; Memory (byte offsets; everything little-endian). The fixed part, whose addresses are exported:
;;   0        weights: [1024, 16] i16, index (fy * 32 + fx) * 16 + row * 4 + col (written by JS)
;;   32768    [3, 256] f32 normalisation tables (written by JS per call)
;;   35840    the kernel's vector constants (the data segment below)
;; then, from params_at, laid out by letterbox-simd.ts per call:
;;   cols     per output column x, 2 i32: the window's first byte relative to a row address,
;;            (sx + 3) * 3 (-1: the window lies wholly outside the source), and fx * 32 (its
;;            weights' offset within a phase row)
;;   rows     per output row y, 8 i32: the addresses of the window's 4 source rows (each 3 pixels
;;            before the row's first byte; r0 = -1: the window lies wholly outside), fy * 1024
;;            (the weights' phase row), 3 unused
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

  (global (export "lut_at") i32 (i32.const 32768))
  (global (export "params_at") i32 (i32.const 35904))
  ;; Vector constants, loaded once per call: TurboFan would rebuild a v128.const in every iteration.
  (data (i32.const 35840)
    ;; byte shuffle making a row planar: [R x4, G x4, B x4, -]
    "\00\03\06\09\01\04\07\0a\02\05\08\0b\80\80\80\80"
    ;; 2^14 (rounding of the 15-bit fixed point) and 255 (the clamp), per i32 lane
    "\00\40\00\00\00\40\00\00\00\40\00\00\00\40\00\00"
    "\ff\00\00\00\ff\00\00\00\ff\00\00\00\ff\00\00\00")

  (func (export "letterbox")
    (param $cols i32) (param $W i32) (param $rows i32) (param $H i32) (param $out i32)
    (param $pad0 f32) (param $pad1 f32) (param $pad2 f32)
    (local $plane i32) (local $plane2 i32) (local $rp i32) (local $rend i32) (local $op i32) (local $cp i32) (local $cend i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $wrow i32) (local $c i32) (local $w i32)
    (local $planar v128) (local $half v128) (local $max v128) (local $zero v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $w01 v128) (local $w23 v128)
    (local $t v128) (local $u v128) (local $vr v128) (local $vg v128) (local $vb v128)
    (local.set $planar (v128.load (i32.const 35840)))
    (local.set $half (v128.load (i32.const 35856)))
    (local.set $max (v128.load (i32.const 35872)))
    (local.set $plane (i32.shl (i32.mul (local.get $W) (local.get $H)) (i32.const 2)))
    (local.set $plane2 (i32.shl (local.get $plane) (i32.const 1)))
    (local.set $rp (local.get $rows))
    (local.set $rend (i32.add (local.get $rows) (i32.shl (local.get $H) (i32.const 5))))
    (local.set $op (local.get $out))
    (local.set $cend (i32.add (local.get $cols) (i32.shl (local.get $W) (i32.const 3))))
    (if (i32.eqz (i32.mul (local.get $W) (local.get $H))) (then (return)))
    (loop $row
      (local.set $r0 (i32.load (local.get $rp)))
      (local.set $cp (local.get $cols))
      (if (i32.lt_s (local.get $r0) (i32.const 0))
        (then
          ;; the whole row is padding
          (loop $fill
            (f32.store (local.get $op) (local.get $pad0))
            (f32.store (i32.add (local.get $op) (local.get $plane)) (local.get $pad1))
            (f32.store (i32.add (local.get $op) (local.get $plane2)) (local.get $pad2))
            (local.set $op (i32.add (local.get $op) (i32.const 4)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 8)))
            (br_if $fill (i32.lt_u (local.get $cp) (local.get $cend)))))
        (else
          (local.set $r1 (i32.load offset=4 (local.get $rp)))
          (local.set $r2 (i32.load offset=8 (local.get $rp)))
          (local.set $r3 (i32.load offset=12 (local.get $rp)))
          (local.set $wrow (i32.load offset=16 (local.get $rp)))
          (loop $col
            (local.set $c (i32.load (local.get $cp)))
            (if (i32.lt_s (local.get $c) (i32.const 0))
              (then
                (f32.store (local.get $op) (local.get $pad0))
                (f32.store (i32.add (local.get $op) (local.get $plane)) (local.get $pad1))
                (f32.store (i32.add (local.get $op) (local.get $plane2)) (local.get $pad2)))
              (else
                (local.set $w (i32.add (local.get $wrow) (i32.load offset=4 (local.get $cp))))
                (local.set $w01 (v128.load (local.get $w)))
                (local.set $w23 (v128.load offset=16 (local.get $w)))
                ;; each of the window's 4 rows, R0 G0 B0 R1 G1 B1 R2 G2 B2 R3 G3 B3, made [R x4, G x4, B x4, -]
                (local.set $a0 (i8x16.swizzle (v128.load (i32.add (local.get $r0) (local.get $c))) (local.get $planar)))
                (local.set $a1 (i8x16.swizzle (v128.load (i32.add (local.get $r1) (local.get $c))) (local.get $planar)))
                (local.set $a2 (i8x16.swizzle (v128.load (i32.add (local.get $r2) (local.get $c))) (local.get $planar)))
                (local.set $a3 (i8x16.swizzle (v128.load (i32.add (local.get $r3) (local.get $c))) (local.get $planar)))
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
                ;; bytes: (sum + 2^14) >> 15, clamped to 0..255; x4: offsets into each channel's table
                (local.set $t (i32x4.shr_s (i32x4.add (local.get $t) (local.get $half)) (i32.const 15)))
                (local.set $t (i32x4.min_s (i32x4.max_s (local.get $t) (local.get $zero)) (local.get $max)))
                (local.set $t (i32x4.shl (local.get $t) (i32.const 2)))
                (f32.store (local.get $op) (f32.load offset=32768 (i32x4.extract_lane 0 (local.get $t))))
                (f32.store (i32.add (local.get $op) (local.get $plane)) (f32.load offset=33792 (i32x4.extract_lane 1 (local.get $t))))
                (f32.store (i32.add (local.get $op) (local.get $plane2)) (f32.load offset=34816 (i32x4.extract_lane 2 (local.get $t))))))
            (local.set $op (i32.add (local.get $op) (i32.const 4)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 8)))
            (br_if $col (i32.lt_u (local.get $cp) (local.get $cend))))))
      (local.set $rp (i32.add (local.get $rp) (i32.const 32)))
      (br_if $row (i32.lt_u (local.get $rp) (local.get $rend)))))
)
