;; The frame check of jsonScan.ts on WebAssembly SIMD: the same answers as
;; `isPlainText(text) && isCompactValue(text, start, end, objectAt)`, on the text's UTF-8 bytes.
;; Built into jsonScanWasm.ts by `node scripts/build-wasm.mjs` (see there); tested against the
;; JavaScript check in test/jsonScan.test.ts.
;;
;; Memory: bytes 0-11 receive where the values of `hash`, `number` and `parentHash` start in the
;; object that opens at `objectAt` (-1: not there), and bytes 12-39 what readHead (resultFields.ts)
;; reads there (see $readHead); the text starts at byte 48, followed by a zero byte and at least 16
;; more (16-byte loads run past the end of what they look at). Positions given and returned count
;; from the start of the text.
(module
  (memory (export "memory") 1)

  ;; Whether [at, end) has no backslash and no byte below 0x20.
  (func $plain (param $at i32) (param $end i32) (result i32)
    (local $v v128)
    (local $bad i32)
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $v (v128.load offset=48 align=1 (local.get $at)))
        (local.set $bad
          (i8x16.bitmask
            (v128.or
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92)))
              (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32))))))
        ;; The last chunk counts only up to `end`.
        (if (i32.lt_s (i32.sub (local.get $end) (local.get $at)) (i32.const 16))
          (then
            (local.set $bad
              (i32.and (local.get $bad)
                (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $end) (local.get $at))) (i32.const 1))))))
        (if (local.get $bad) (then (return (i32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $chunks)))
    (i32.const 1))

  ;; Past the digits that start at `at`.
  (func $digitsEnd (param $at i32) (result i32)
    (loop $digits
      (if (i32.lt_u (i32.sub (i32.load8_u offset=48 (local.get $at)) (i32.const 48)) (i32.const 10))
        (then
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $digits))))
    (local.get $at))

  ;; Where the number or literal that starts at `at` (with `code`) ends, or -1 when it is neither.
  (func $scalarEnd (param $at i32) (param $code i32) (result i32)
    ;; 'true', 'alse' and 'null' as little-endian words.
    (if (i32.eq (local.get $code) (i32.const 116))
      (then (return (select (i32.add (local.get $at) (i32.const 4)) (i32.const -1)
        (i32.eq (i32.load offset=48 align=1 (local.get $at)) (i32.const 0x65757274))))))
    (if (i32.eq (local.get $code) (i32.const 102))
      (then (return (select (i32.add (local.get $at) (i32.const 5)) (i32.const -1)
        (i32.eq (i32.load offset=49 align=1 (local.get $at)) (i32.const 0x65736c61))))))
    (if (i32.eq (local.get $code) (i32.const 110))
      (then (return (select (i32.add (local.get $at) (i32.const 4)) (i32.const -1)
        (i32.eq (i32.load offset=48 align=1 (local.get $at)) (i32.const 0x6c6c756e))))))
    ;; -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    (if (i32.eq (local.get $code) (i32.const 45))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $code (i32.load8_u offset=48 (local.get $at)))))
    (if (i32.eq (local.get $code) (i32.const 48))
      (then (local.set $at (i32.add (local.get $at) (i32.const 1))))
      (else
        (if (i32.lt_u (i32.sub (local.get $code) (i32.const 48)) (i32.const 10))
          (then (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1)))))
          (else (return (i32.const -1))))))
    (if (i32.eq (i32.load8_u offset=48 (local.get $at)) (i32.const 46))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (i32.eqz (i32.lt_u (i32.sub (i32.load8_u offset=48 (local.get $at)) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1))))))
    (local.set $code (i32.load8_u offset=48 (local.get $at)))
    (if (i32.eq (i32.or (local.get $code) (i32.const 32)) (i32.const 101))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $code (i32.load8_u offset=48 (local.get $at)))
        (if (i32.or (i32.eq (local.get $code) (i32.const 43)) (i32.eq (local.get $code) (i32.const 45)))
          (then
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (local.set $code (i32.load8_u offset=48 (local.get $at)))))
        (if (i32.eqz (i32.lt_u (i32.sub (local.get $code) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1))))))
    (local.get $at))

  ;; Notes where the value of the key between `start` and `end` (its closing quote) starts, if it
  ;; is `hash`, `number` or `parentHash`.
  (func $noteKey (param $start i32) (param $end i32)
    (local $length i32)
    (local.set $length (i32.sub (local.get $end) (local.get $start)))
    (if (i32.and (i32.eq (local.get $length) (i32.const 4))
          (i32.eq (i32.load offset=48 align=1 (local.get $start)) (i32.const 0x68736168)))
      (then (i32.store (i32.const 0) (i32.add (local.get $end) (i32.const 2)))))
    (if (i32.and (i32.eq (local.get $length) (i32.const 6))
          (i32.and
            (i32.eq (i32.load offset=48 align=1 (local.get $start)) (i32.const 0x626d756e))
            (i32.eq (i32.load16_u offset=52 align=1 (local.get $start)) (i32.const 0x7265))))
      (then (i32.store (i32.const 4) (i32.add (local.get $end) (i32.const 2)))))
    (if (i32.and (i32.eq (local.get $length) (i32.const 10))
          (i32.and
            (i64.eq (i64.load offset=48 align=1 (local.get $start)) (i64.const 0x6148746e65726170))
            (i32.eq (i32.load16_u offset=56 align=1 (local.get $start)) (i32.const 0x6873))))
      (then (i32.store (i32.const 8) (i32.add (local.get $end) (i32.const 2))))))

;; 1 when the text of `length` bytes is plain and [start, end) of it is exactly one compact JSON
  ;; value at most 31 levels deep (see jsonScan.ts); notes the head keys of the object at `objectAt`.
  (func $scan (param $length i32) (param $start i32) (param $end i32) (param $objectAt i32) (result i32)
    (local $at i32)
    (local $code i32)
    (local $depth i32)
    (local $objects i32)
    (local $keysDepth i32)
    (local $inObject i32)
    ;; The string that starts at `at` is a key.
    (local $isKey i32)
    (local $open i32)
    (local $bits i32)
    (local $v v128)
    (i32.store (i32.const 0) (i32.const -1))
    (i32.store (i32.const 4) (i32.const -1))
    (i32.store (i32.const 8) (i32.const -1))
    (if (i32.eqz (call $plain (i32.const 0) (local.get $start))) (then (return (i32.const 0))))
    (if (i32.eqz (call $plain (local.get $end) (local.get $length))) (then (return (i32.const 0))))
    (local.set $at (local.get $start))
    (local.set $keysDepth (i32.const -1))
    (loop $value
      ;; A value (or, with $isKey, a key) starts at `at`; just after `[`, the array may end.
      (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
      (local.set $code (i32.load8_u offset=48 (local.get $at)))
      (block $afterValue
        (if (i32.eq (local.get $code) (i32.const 34))
          (then
            ;; A string: it ends at the first quote, and holds no backslash or byte below 0x20
            ;; before it. Looked for 16 bytes at a time.
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (local.set $open (local.get $at))
            (loop $chunks
              (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
              (local.set $v (v128.load offset=48 align=1 (local.get $at)))
              (local.set $bits
                (i8x16.bitmask
                  (v128.or
                    (v128.or
                      (i8x16.eq (local.get $v) (i8x16.splat (i32.const 34)))
                      (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92))))
                    (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32))))))
              (if (i32.eqz (local.get $bits))
                (then
                  (local.set $at (i32.add (local.get $at) (i32.const 16)))
                  (br $chunks))))
            (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $bits))))
            (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
            (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34)) (then (return (i32.const 0))))
            (if (local.get $isKey)
              (then
                (local.set $isKey (i32.const 0))
                ;; Members of an object, from a key whose closing quote is at `at` (its contents
                ;; start at $open). The common run, `"key":"value","key":…`, is taken here, string
                ;; after string; anything else goes back to the general loop.
                (loop $members
                  ;; The key's colon, and the value after it.
                  (if (i32.ge_s (i32.add (local.get $at) (i32.const 1)) (local.get $end)) (then (return (i32.const 0))))
                  (if (i32.ne (i32.load8_u offset=49 (local.get $at)) (i32.const 58)) (then (return (i32.const 0))))
                  ;; Only keys 4, 6 or 10 bytes long can be head keys (bits 4, 6 and 10 of 0x450).
                  (if (i32.and
                        (i32.eq (local.get $depth) (local.get $keysDepth))
                        (i32.and (i32.shr_u (i32.const 0x450) (i32.sub (local.get $at) (local.get $open))) (i32.const 1)))
                    (then (call $noteKey (local.get $open) (local.get $at))))
                  (local.set $at (i32.add (local.get $at) (i32.const 2)))
                  ;; A value other than a string: the general loop.
                  (br_if $value (i32.ge_s (local.get $at) (local.get $end)))
                  (br_if $value (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34)))
                  (local.set $at (i32.add (local.get $at) (i32.const 1)))
                    (loop $chunksat
                      (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
                      (local.set $v (v128.load offset=48 align=1 (local.get $at)))
                      (local.set $bits
                        (i8x16.bitmask
                          (v128.or
                            (v128.or
                              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 34)))
                              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92))))
                            (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32))))))
                      (if (i32.eqz (local.get $bits))
                        (then
                          (local.set $at (i32.add (local.get $at) (i32.const 16)))
                          (br $chunksat))))
                    (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $bits))))
                    (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
                    (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34)) (then (return (i32.const 0))))
                  ;; After the value: a comma and the next key's quote, or the general loop.
                  (local.set $at (i32.add (local.get $at) (i32.const 1)))
                  (br_if $afterValue (i32.ge_s (i32.add (local.get $at) (i32.const 1)) (local.get $end)))
                  (br_if $afterValue (i32.ne (i32.load16_u offset=48 align=1 (local.get $at)) (i32.const 0x222c)))
                  (local.set $open (i32.add (local.get $at) (i32.const 2)))
                  (local.set $at (local.get $open))
                    (loop $chunksat
                      (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
                      (local.set $v (v128.load offset=48 align=1 (local.get $at)))
                      (local.set $bits
                        (i8x16.bitmask
                          (v128.or
                            (v128.or
                              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 34)))
                              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92))))
                            (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32))))))
                      (if (i32.eqz (local.get $bits))
                        (then
                          (local.set $at (i32.add (local.get $at) (i32.const 16)))
                          (br $chunksat))))
                    (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $bits))))
                    (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
                    (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34)) (then (return (i32.const 0))))
                  (br $members))))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $afterValue)))
        (if (i32.eq (local.get $code) (i32.const 123))
          (then
            (if (i32.eq (local.get $depth) (i32.const 31)) (then (return (i32.const 0))))
            (local.set $objects (i32.or (local.get $objects) (i32.shl (i32.const 1) (local.get $depth))))
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (if (i32.eq (local.get $at) (local.get $objectAt)) (then (local.set $keysDepth (local.get $depth))))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
            (if (i32.eq (i32.load8_u offset=48 (local.get $at)) (i32.const 34))
              (then
                ;; The first key.
                (local.set $isKey (i32.const 1))
                (br $value)))
            (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 125)) (then (return (i32.const 0))))
            (if (i32.eq (local.get $depth) (local.get $keysDepth)) (then (local.set $keysDepth (i32.const -1))))
            (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $afterValue)))
        (if (i32.eq (local.get $code) (i32.const 91))
          (then
            (if (i32.eq (local.get $depth) (i32.const 31)) (then (return (i32.const 0))))
            (local.set $objects (i32.and (local.get $objects) (i32.xor (i32.shl (i32.const 1) (local.get $depth)) (i32.const -1))))
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
            (br_if $value (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 93)))
            (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $afterValue)))
        (local.set $at (call $scalarEnd (local.get $at) (local.get $code)))
        (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i32.const 0)))))
      ;; After a value: closes, then a comma and the next value (or key), or the end.
      (loop $after
        (if (i32.eqz (local.get $depth)) (then (return (i32.eq (local.get $at) (local.get $end)))))
        (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
        (local.set $code (i32.load8_u offset=48 (local.get $at)))
        (local.set $inObject (i32.and (i32.shr_u (local.get $objects) (i32.sub (local.get $depth) (i32.const 1))) (i32.const 1)))
        (if (i32.eq (local.get $code) (i32.const 44))
          (then
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br_if $value (i32.eqz (local.get $inObject)))
            ;; The next key.
            (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
            (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34)) (then (return (i32.const 0))))
            (local.set $isKey (i32.const 1))
            (br $value)))
        (if (i32.ne (local.get $code) (select (i32.const 125) (i32.const 93) (local.get $inObject))) (then (return (i32.const 0))))
        (if (i32.eq (local.get $depth) (local.get $keysDepth)) (then (local.set $keysDepth (i32.const -1))))
        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $after)))
    (unreachable))
;; `count` hex digits from `at` as a number (bits 0-31), or -1 (as i64) when one is not a hex digit.
  (func $hexDigits (param $at i32) (param $count i32) (result i64)
    (local $n i64)
    (local $digit i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $at) (local.get $count)))
    (block $done
      (loop $digits
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $digit (i32.load8_u offset=48 (local.get $at)))
        (if (i32.lt_u (i32.sub (local.get $digit) (i32.const 48)) (i32.const 10))
          (then (local.set $digit (i32.sub (local.get $digit) (i32.const 48))))
          (else
            (local.set $digit (i32.sub (i32.or (local.get $digit) (i32.const 32)) (i32.const 97)))
            (if (i32.ge_u (local.get $digit) (i32.const 6)) (then (return (i64.const -1))))
            (local.set $digit (i32.add (local.get $digit) (i32.const 10)))))
        (local.set $n (i64.or (i64.shl (local.get $n) (i64.const 4)) (i64.extend_i32_u (local.get $digit))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $digits)))
    (local.get $n))

  (func $hexDigit (param $code i32) (result i32)
    (local $lower i32)
    (if (i32.lt_u (i32.sub (local.get $code) (i32.const 48)) (i32.const 10))
      (then (return (i32.sub (local.get $code) (i32.const 48)))))
    (local.set $lower (i32.or (local.get $code) (i32.const 32)))
    (if (i32.lt_u (i32.sub (local.get $lower) (i32.const 97)) (i32.const 6))
      (then (return (i32.sub (local.get $lower) (i32.const 87)))))
    (i32.const -1))

  ;; Whether a quoted `0x` and 64 characters open at `at` (a quote at `at` + 67), within `length`.
  (func $isHashAt (param $at i32) (param $length i32) (result i32)
    (if (i32.or (i32.lt_s (local.get $at) (i32.const 0)) (i32.ge_s (i32.add (local.get $at) (i32.const 67)) (local.get $length)))
      (then (return (i32.const 0))))
    (i32.and
      (i32.eq (i32.load16_u offset=48 align=1 (local.get $at)) (i32.const 0x3022))
      (i32.and
        (i32.eq (i32.load8_u offset=50 (local.get $at)) (i32.const 120))
        (i32.eq (i32.load8_u offset=115 (local.get $at)) (i32.const 34)))))

  ;; What readHead (resultFields.ts) reads of a head whose keys were noted, read the same way:
  ;; bytes 12-15: which parts were read (1: the hash's digests, 2: the number, 4: the parent's
  ;; first digits, 8: its last); 16-23: the number (f64); 24, 28: the hash's first 8 and last 5 hex
  ;; digits; 32, 36: the parent hash's.
  (func $readHead (param $length i32)
    (local $at i32)
    (local $read i32)
    (local $hi i64)
    (local $lo i64)
    (local $n f64)
    (local $digit i32)
    ;; The hash: `"0x` and 64 characters, its digests from its first 8 and last 5 digits.
    (local.set $at (i32.load (i32.const 0)))
    (if (call $isHashAt (local.get $at) (local.get $length))
      (then
        (local.set $hi (call $hexDigits (i32.add (local.get $at) (i32.const 3)) (i32.const 8)))
        (local.set $lo (call $hexDigits (i32.add (local.get $at) (i32.const 62)) (i32.const 5)))
        (if (i32.and (i64.ge_s (local.get $hi) (i64.const 0)) (i64.ge_s (local.get $lo) (i64.const 0)))
          (then
            (i32.store (i32.const 24) (i32.wrap_i64 (local.get $hi)))
            (i32.store (i32.const 28) (i32.wrap_i64 (local.get $lo)))
            (local.set $read (i32.const 1))))))
    ;; The number: `"0x`, hex digits up to a quote, a safe integer (summed as doubles, as quantityAt does).
    (local.set $at (i32.load (i32.const 4)))
    (block $number
      (br_if $number (i32.lt_s (local.get $at) (i32.const 0)))
      (br_if $number (i32.ge_s (i32.add (local.get $at) (i32.const 3)) (local.get $length)))
      (br_if $number (i32.ne (i32.load16_u offset=48 align=1 (local.get $at)) (i32.const 0x3022)))
      (br_if $number (i32.ne (i32.load8_u offset=50 (local.get $at)) (i32.const 120)))
      (local.set $at (i32.add (local.get $at) (i32.const 3)))
      (loop $digits
        (br_if $number (i32.ge_s (local.get $at) (local.get $length)))
        (if (i32.ne (i32.load8_u offset=48 (local.get $at)) (i32.const 34))
          (then
            (local.set $digit (call $hexDigit (i32.load8_u offset=48 (local.get $at))))
            (br_if $number (i32.lt_s (local.get $digit) (i32.const 0)))
            (local.set $n (f64.add (f64.mul (local.get $n) (f64.const 16)) (f64.convert_i32_u (local.get $digit))))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $digits))))
      ;; At the closing quote: at least one digit, and a safe integer.
      (br_if $number (i32.eq (local.get $at) (i32.add (i32.load (i32.const 4)) (i32.const 3))))
      (br_if $number (f64.gt (local.get $n) (f64.const 9007199254740991)))
      (f64.store (i32.const 16) (local.get $n))
      (local.set $read (i32.or (local.get $read) (i32.const 2))))
    ;; The parent hash, each digest on its own.
    (local.set $at (i32.load (i32.const 8)))
    (if (call $isHashAt (local.get $at) (local.get $length))
      (then
        (local.set $hi (call $hexDigits (i32.add (local.get $at) (i32.const 3)) (i32.const 8)))
        (local.set $lo (call $hexDigits (i32.add (local.get $at) (i32.const 62)) (i32.const 5)))
        (if (i64.ge_s (local.get $hi) (i64.const 0))
          (then
            (i32.store (i32.const 32) (i32.wrap_i64 (local.get $hi)))
            (local.set $read (i32.or (local.get $read) (i32.const 4)))))
        (if (i64.ge_s (local.get $lo) (i64.const 0))
          (then
            (i32.store (i32.const 36) (i32.wrap_i64 (local.get $lo)))
            (local.set $read (i32.or (local.get $read) (i32.const 8)))))))
    (i32.store (i32.const 12) (local.get $read)))

  ;; $scan, and with `objectAt` and a text that passes, $readHead.
  (func (export "check") (param $length i32) (param $start i32) (param $end i32) (param $objectAt i32) (result i32)
    (if (i32.eqz (call $scan (local.get $length) (local.get $start) (local.get $end) (local.get $objectAt))) (then (return (i32.const 0))))
    (if (i32.ge_s (local.get $objectAt) (i32.const 0)) (then (call $readHead (local.get $length))))
    (i32.const 1))
)
