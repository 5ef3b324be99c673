;; The frame check of jsonScan.ts on WebAssembly SIMD: the same answers as
;; `isPlainText(text) && isCompactValue(text, start, end, objectAt)`, on the text's UTF-8 bytes.
;; Built into jsonScanSimdBytes.ts by `node scripts/build-wasm.mjs` (see there); tested against the
;; JavaScript check in test/jsonScan.test.ts.
;;
;; Memory: bytes 0-11 receive where the values of `hash`, `number` and `parentHash` start in the
;; object that opens at `objectAt` (-1: not there), and bytes 12-39 what readHead (resultFields.ts)
;; reads there (see $readHead); bytes 48-303 hold the prefix $check compares the text with (see
;; jsonScanSimd.ts), and the text starts at byte 304. After it the check takes 80 bytes, which
;; it fills with quotes, then from a multiple of 8 a bitmap of where the quotes are (see $mapQuotes;
;; jsonScanSimd.ts reserves the room). Positions given and returned count from the start of the text.
;;
;; One pass over the whole text, 64 bytes at a time, checks that it is plain and maps its quotes.
;; The scan then goes from quote to quote by the bitmap: finding where a string ends is a bit
;; operation that does not wait on reading the text where the string before it ended.
(module
  (memory (export "memory") 1)

  ;; Where the first backslash or byte below 0x20 in [at, end) is; `end` when there is none.
  (func $firstBad (param $at i32) (param $end i32) (result i32)
    (local $v v128)
    (local $bits i32)
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $v (v128.load offset=304 align=1 (local.get $at)))
        (local.set $bits
          (i8x16.bitmask
            (v128.or
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92)))
              (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32))))))
        (if (local.get $bits)
          (then
            (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $bits))))
            ;; A byte found in the last chunk may lie past `end`.
            (return (select (local.get $at) (local.get $end) (i32.lt_s (local.get $at) (local.get $end))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $chunks)))
    (local.get $end))

  ;; Fills the 80 bytes after the text of `length` bytes with quotes, and the bitmap at `bitmap`
  ;; with where the quotes are (bit i of word k: the byte at 64k + i), for each block of 64 bytes
  ;; up to the one with the second quote after the text, where a scan that runs on stops at the
  ;; latest. 1 when the text has no backslash and no byte below 0x20 (the smallest byte, and
  ;; whether one was a backslash, are gathered on the way; the quotes after it are neither).
  (func $mapQuotes (param $length i32) (param $bitmap i32) (result i32)
    (local $at i32)
    (local $v0 v128)
    (local $v1 v128)
    (local $v2 v128)
    (local $v3 v128)
    (local $least v128)
    (local $backslashes v128)
    (local $backslash v128)
    (local $quote v128)
    (local.set $quote (i8x16.splat (i32.const 34)))
    (v128.store offset=304 align=1 (local.get $length) (local.get $quote))
    (v128.store offset=320 align=1 (local.get $length) (local.get $quote))
    (v128.store offset=336 align=1 (local.get $length) (local.get $quote))
    (v128.store offset=352 align=1 (local.get $length) (local.get $quote))
    (v128.store offset=368 align=1 (local.get $length) (local.get $quote))
    (local.set $least (v128.const i32x4 -1 -1 -1 -1))
    (local.set $backslash (i8x16.splat (i32.const 92)))
    (loop $blocks
      (local.set $v0 (v128.load offset=304 (local.get $at)))
      (local.set $v1 (v128.load offset=320 (local.get $at)))
      (local.set $v2 (v128.load offset=336 (local.get $at)))
      (local.set $v3 (v128.load offset=352 (local.get $at)))
      (local.set $least
        (i8x16.min_u (local.get $least)
          (i8x16.min_u
            (i8x16.min_u (local.get $v0) (local.get $v1))
            (i8x16.min_u (local.get $v2) (local.get $v3)))))
      (local.set $backslashes
        (v128.or (local.get $backslashes)
          (v128.or
            (v128.or (i8x16.eq (local.get $v0) (local.get $backslash)) (i8x16.eq (local.get $v1) (local.get $backslash)))
            (v128.or (i8x16.eq (local.get $v2) (local.get $backslash)) (i8x16.eq (local.get $v3) (local.get $backslash))))))
      (i32.store16 offset=0 (local.get $bitmap) (i8x16.bitmask (i8x16.eq (local.get $v0) (local.get $quote))))
      (i32.store16 offset=2 (local.get $bitmap) (i8x16.bitmask (i8x16.eq (local.get $v1) (local.get $quote))))
      (i32.store16 offset=4 (local.get $bitmap) (i8x16.bitmask (i8x16.eq (local.get $v2) (local.get $quote))))
      (i32.store16 offset=6 (local.get $bitmap) (i8x16.bitmask (i8x16.eq (local.get $v3) (local.get $quote))))
      (local.set $bitmap (i32.add (local.get $bitmap) (i32.const 8)))
      (local.set $at (i32.add (local.get $at) (i32.const 64)))
      (br_if $blocks (i32.le_s (local.get $at) (i32.add (local.get $length) (i32.const 1)))))
    (i32.eqz
      (v128.any_true
        (v128.or (local.get $backslashes) (i8x16.lt_u (local.get $least) (i8x16.splat (i32.const 32)))))))

  ;; Past the digits that start at `at`.
  (func $digitsEnd (param $at i32) (result i32)
    (loop $digits
      (if (i32.lt_u (i32.sub (i32.load8_u offset=304 (local.get $at)) (i32.const 48)) (i32.const 10))
        (then
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $digits))))
    (local.get $at))

  ;; Where the number or literal that starts at `at` (with `code`) ends, or -1 when it is neither.
  (func $scalarEnd (param $at i32) (param $code i32) (result i32)
    ;; 'true', 'alse' and 'null' as little-endian words.
    (if (i32.eq (local.get $code) (i32.const 116))
      (then (return (select (i32.add (local.get $at) (i32.const 4)) (i32.const -1)
        (i32.eq (i32.load offset=304 align=1 (local.get $at)) (i32.const 0x65757274))))))
    (if (i32.eq (local.get $code) (i32.const 102))
      (then (return (select (i32.add (local.get $at) (i32.const 5)) (i32.const -1)
        (i32.eq (i32.load offset=305 align=1 (local.get $at)) (i32.const 0x65736c61))))))
    (if (i32.eq (local.get $code) (i32.const 110))
      (then (return (select (i32.add (local.get $at) (i32.const 4)) (i32.const -1)
        (i32.eq (i32.load offset=304 align=1 (local.get $at)) (i32.const 0x6c6c756e))))))
    ;; -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    (if (i32.eq (local.get $code) (i32.const 45))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $code (i32.load8_u offset=304 (local.get $at)))))
    (if (i32.eq (local.get $code) (i32.const 48))
      (then (local.set $at (i32.add (local.get $at) (i32.const 1))))
      (else
        (if (i32.lt_u (i32.sub (local.get $code) (i32.const 48)) (i32.const 10))
          (then (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1)))))
          (else (return (i32.const -1))))))
    (if (i32.eq (i32.load8_u offset=304 (local.get $at)) (i32.const 46))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (if (i32.eqz (i32.lt_u (i32.sub (i32.load8_u offset=304 (local.get $at)) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1))))))
    (local.set $code (i32.load8_u offset=304 (local.get $at)))
    (if (i32.eq (i32.or (local.get $code) (i32.const 32)) (i32.const 101))
      (then
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $code (i32.load8_u offset=304 (local.get $at)))
        (if (i32.or (i32.eq (local.get $code) (i32.const 43)) (i32.eq (local.get $code) (i32.const 45)))
          (then
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (local.set $code (i32.load8_u offset=304 (local.get $at)))))
        (if (i32.eqz (i32.lt_u (i32.sub (local.get $code) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (local.set $at (call $digitsEnd (i32.add (local.get $at) (i32.const 1))))))
    (local.get $at))

  ;; 1 when the text of `length` bytes is plain and [start, end) of it is exactly one compact JSON
  ;; value at most 31 levels deep (see jsonScan.ts); notes the head keys of the object at `objectAt`.
  ;;
  ;; Every quote before `at` has been taken from $quotes, so the next bit is the next quote. It is
  ;; taken the same way wherever a string is passed: the next word of the bitmap that has one when
  ;; $quotes has none left, the lowest bit, and that bit cleared.
  (func $scan (param $length i32) (param $start i32) (param $end i32) (param $objectAt i32) (result i32)
    (local $at i32)
    (local $code i32)
    (local $depth i32)
    (local $objects i32)
    (local $keysDepth i32)
    (local $inObject i32)
    ;; A key opens at `at` (after a comma, in the general loop).
    (local $isKey i32)
    ;; The lengths a head key can have (bits 4, 6 and 10) in the object whose keys are noted; else 0.
    (local $keyLengths i32)
    ;; The text is not plain: scanned only up to its first backslash or control byte, and refused.
    (local $spoiled i32)
    ;; The bitmap (see $mapQuotes); the quotes not taken yet in the block of 64 bytes at $base;
    ;; the last quote taken.
    (local $bitmap i32)
    (local $base i32)
    (local $quotes i64)
    (local $q i32)
    (i32.store (i32.const 0) (i32.const -1))
    (i32.store (i32.const 4) (i32.const -1))
    (i32.store (i32.const 8) (i32.const -1))
    ;; After the text (at 304) and its 80 bytes of quotes, at a multiple of 8.
    (local.set $bitmap (i32.and (i32.add (local.get $length) (i32.const 391)) (i32.const -8)))
    (if (i32.eqz (call $mapQuotes (local.get $length) (local.get $bitmap)))
      (then
        ;; Refused, with the keys noted that a scan byte by byte notes before it stops: none when a
        ;; bad byte is outside [start, end), else those before the first one.
        (if (i32.lt_s (call $firstBad (i32.const 0) (local.get $start)) (local.get $start)) (then (return (i32.const 0))))
        (if (i32.lt_s (call $firstBad (local.get $end) (local.get $length)) (local.get $length)) (then (return (i32.const 0))))
        (local.set $end (call $firstBad (local.get $start) (local.get $end)))
        (local.set $spoiled (i32.const 1))))
    (local.set $base (i32.and (local.get $start) (i32.const -64)))
    (local.set $quotes
      (i64.and
        (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3))))
        (i64.shl (i64.const -1) (i64.extend_i32_u (i32.and (local.get $start) (i32.const 63))))))
    (local.set $at (local.get $start))
    (local.set $keysDepth (i32.const -1))
    (loop $value
      (block $afterValue
        (block $key
          (br_if $key (local.get $isKey))
          ;; A value starts at `at`; just after `[`, the array may end.
          (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
          (local.set $code (i32.load8_u offset=304 (local.get $at)))
          (if (i32.eq (local.get $code) (i32.const 34))
            (then
              ;; A string: its quote, and the next.
              (if (i64.eqz (local.get $quotes))
                (then
                  (loop $words
                    (local.set $base (i32.add (local.get $base) (i32.const 64)))
                    (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                    (br_if $words (i64.eqz (local.get $quotes))))))
              (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
              (if (i64.eqz (local.get $quotes))
                (then
                  (loop $words
                    (local.set $base (i32.add (local.get $base) (i32.const 64)))
                    (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                    (br_if $words (i64.eqz (local.get $quotes))))))
              (local.set $q (i32.add (local.get $base) (i32.wrap_i64 (i64.ctz (local.get $quotes)))))
              (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
              (if (i32.ge_s (local.get $q) (local.get $end)) (then (return (i32.const 0))))
              (local.set $at (i32.add (local.get $q) (i32.const 1)))
              (br $afterValue)))
          (if (i32.eq (local.get $code) (i32.const 123))
            (then
              (if (i32.eq (local.get $depth) (i32.const 31)) (then (return (i32.const 0))))
              (local.set $objects (i32.or (local.get $objects) (i32.shl (i32.const 1) (local.get $depth))))
              (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
              (if (i32.eq (local.get $at) (local.get $objectAt)) (then (local.set $keysDepth (local.get $depth))))
              (local.set $at (i32.add (local.get $at) (i32.const 1)))
              (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
              ;; The first key.
              (br_if $key (i32.eq (i32.load8_u offset=304 (local.get $at)) (i32.const 34)))
              (if (i32.ne (i32.load8_u offset=304 (local.get $at)) (i32.const 125)) (then (return (i32.const 0))))
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
              (br_if $value (i32.ne (i32.load8_u offset=304 (local.get $at)) (i32.const 93)))
              (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
              (local.set $at (i32.add (local.get $at) (i32.const 1)))
              (br $afterValue)))
          (local.set $at (call $scalarEnd (local.get $at) (local.get $code)))
          (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i32.const 0))))
          (br $afterValue))
        ;; Members of an object, from the quote that opens a key at `at`. The common run,
        ;; `"key":"value","key":…`, is taken here, string after string; anything else goes back to
        ;; the general loop. What is read here at or past `end` fails further on: a key's end at
        ;; its colon, and a colon, quote or comma at the end of the next string.
        (local.set $isKey (i32.const 0))
        (local.set $keyLengths (select (i32.const 0x450) (i32.const 0) (i32.eq (local.get $depth) (local.get $keysDepth))))
        (loop $members
          ;; The key: its quote at `at`, and the next.
          (if (i64.eqz (local.get $quotes))
            (then
              (loop $words
                (local.set $base (i32.add (local.get $base) (i32.const 64)))
                (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                (br_if $words (i64.eqz (local.get $quotes))))))
          (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
          (if (i64.eqz (local.get $quotes))
            (then
              (loop $words
                (local.set $base (i32.add (local.get $base) (i32.const 64)))
                (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                (br_if $words (i64.eqz (local.get $quotes))))))
          (local.set $q (i32.add (local.get $base) (i32.wrap_i64 (i64.ctz (local.get $quotes)))))
          (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
          ;; A head key is noted once its colon is seen, as in JavaScript.
          (if (i32.and (i32.shr_u (local.get $keyLengths) (i32.sub (local.get $q) (i32.add (local.get $at) (i32.const 1)))) (i32.const 1))
            (then
              (if (i32.ge_s (i32.add (local.get $q) (i32.const 1)) (local.get $end)) (then (return (i32.const 0))))
              (if (i32.ne (i32.load8_u offset=305 (local.get $q)) (i32.const 58)) (then (return (i32.const 0))))
              ;; `hash`, `number` and `parentHash` as little-endian words.
              (if (i32.eq (i32.sub (local.get $q) (local.get $at)) (i32.const 5))
                (then (if (i32.eq (i32.load offset=305 align=1 (local.get $at)) (i32.const 0x68736168))
                  (then (i32.store (i32.const 0) (i32.add (local.get $q) (i32.const 2)))))))
              (if (i32.eq (i32.sub (local.get $q) (local.get $at)) (i32.const 7))
                (then (if (i32.and
                      (i32.eq (i32.load offset=305 align=1 (local.get $at)) (i32.const 0x626d756e))
                      (i32.eq (i32.load16_u offset=309 align=1 (local.get $at)) (i32.const 0x7265)))
                  (then (i32.store (i32.const 4) (i32.add (local.get $q) (i32.const 2)))))))
              (if (i32.eq (i32.sub (local.get $q) (local.get $at)) (i32.const 11))
                (then (if (i32.and
                      (i64.eq (i64.load offset=305 align=1 (local.get $at)) (i64.const 0x6148746e65726170))
                      (i32.eq (i32.load16_u offset=313 align=1 (local.get $at)) (i32.const 0x6873)))
                  (then (i32.store (i32.const 8) (i32.add (local.get $q) (i32.const 2)))))))))
          ;; `:"` opens a string value, taken here; after another colon, the general loop.
          (if (i32.ne (i32.load16_u offset=305 align=1 (local.get $q)) (i32.const 0x223a))
            (then
              (if (i32.ge_s (i32.add (local.get $q) (i32.const 1)) (local.get $end)) (then (return (i32.const 0))))
              (if (i32.ne (i32.load8_u offset=305 (local.get $q)) (i32.const 58)) (then (return (i32.const 0))))
              (local.set $at (i32.add (local.get $q) (i32.const 2)))
              (br $value)))
          ;; The value: its quote, and the next.
          (if (i64.eqz (local.get $quotes))
            (then
              (loop $words
                (local.set $base (i32.add (local.get $base) (i32.const 64)))
                (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                (br_if $words (i64.eqz (local.get $quotes))))))
          (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
          (if (i64.eqz (local.get $quotes))
            (then
              (loop $words
                (local.set $base (i32.add (local.get $base) (i32.const 64)))
                (local.set $quotes (i64.load (i32.add (local.get $bitmap) (i32.shr_u (local.get $base) (i32.const 3)))))
                (br_if $words (i64.eqz (local.get $quotes))))))
          (local.set $q (i32.add (local.get $base) (i32.wrap_i64 (i64.ctz (local.get $quotes)))))
          (local.set $quotes (i64.and (local.get $quotes) (i64.sub (local.get $quotes) (i64.const 1))))
          (if (i32.ge_s (local.get $q) (local.get $end)) (then (return (i32.const 0))))
          ;; `,"` opens the next key; anything else, the general loop after the value.
          (local.set $at (i32.add (local.get $q) (i32.const 1)))
          (br_if $afterValue (i32.ne (i32.load16_u offset=304 align=1 (local.get $at)) (i32.const 0x222c)))
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $members)))
      ;; After a value: closes, then a comma and the next value (or key), or the end.
      (loop $after
        (if (i32.eqz (local.get $depth))
          (then (return (i32.and (i32.eq (local.get $at) (local.get $end)) (i32.eqz (local.get $spoiled))))))
        (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
        (local.set $code (i32.load8_u offset=304 (local.get $at)))
        (local.set $inObject (i32.and (i32.shr_u (local.get $objects) (i32.sub (local.get $depth) (i32.const 1))) (i32.const 1)))
        (if (i32.eq (local.get $code) (i32.const 44))
          (then
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br_if $value (i32.eqz (local.get $inObject)))
            ;; The next key.
            (if (i32.ge_s (local.get $at) (local.get $end)) (then (return (i32.const 0))))
            (if (i32.ne (i32.load8_u offset=304 (local.get $at)) (i32.const 34)) (then (return (i32.const 0))))
            (local.set $isKey (i32.const 1))
            (br $value)))
        (if (i32.ne (local.get $code) (select (i32.const 125) (i32.const 93) (local.get $inObject))) (then (return (i32.const 0))))
        (if (i32.eq (local.get $depth) (local.get $keysDepth)) (then (local.set $keysDepth (i32.const -1))))
        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $after)))
    (unreachable))

  ;; 16 bytes as two numbers of 8 hex digits each (the first in bits 0-31), and which bytes are hex
  ;; digits (bit i for byte i); a byte that is not counts as some digit.
  (func $hexPair (param $bytes v128) (result i64 i32)
    (local $digits v128)
    (local $letters v128)
    (local $isDigit v128)
    (local $nibbles v128)
    ;; Each byte's value as a digit (below 10 when it is one) and as a letter a-f or A-F, less 10
    ;; (below 6 when it is one).
    (local.set $digits (i8x16.sub (local.get $bytes) (i8x16.splat (i32.const 48))))
    (local.set $letters (i8x16.sub (v128.or (local.get $bytes) (i8x16.splat (i32.const 32))) (i8x16.splat (i32.const 97))))
    (local.set $isDigit (i8x16.lt_u (local.get $digits) (i8x16.splat (i32.const 10))))
    (local.set $nibbles
      (v128.and
        (v128.bitselect (local.get $digits) (i8x16.add (local.get $letters) (i8x16.splat (i32.const 10))) (local.get $isDigit))
        (i8x16.splat (i32.const 15))))
    ;; Each number's last digit first; each pair of digits as one byte, the last pair lowest.
    (local.set $nibbles (i8x16.shuffle 7 6 5 4 3 2 1 0 15 14 13 12 11 10 9 8 (local.get $nibbles) (local.get $nibbles)))
    (local.set $nibbles (v128.or (i16x8.shr_u (local.get $nibbles) (i32.const 4)) (v128.and (local.get $nibbles) (i16x8.splat (i32.const 15)))))
    (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (local.get $nibbles) (local.get $nibbles)))
    (i8x16.bitmask (v128.or (local.get $isDigit) (i8x16.lt_u (local.get $letters) (i8x16.splat (i32.const 6))))))

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
      (i32.eq (i32.load16_u offset=304 align=1 (local.get $at)) (i32.const 0x3022))
      (i32.and
        (i32.eq (i32.load8_u offset=306 (local.get $at)) (i32.const 120))
        (i32.eq (i32.load8_u offset=371 (local.get $at)) (i32.const 34)))))

  ;; A hash's first 8 and last 8 hex digits (see $hexPair), read at once.
  (func $hashDigits (param $at i32) (result i64 i32)
    (call $hexPair
      (v128.load64_lane offset=363 align=1 1 (local.get $at) (v128.load64_zero offset=307 align=1 (local.get $at)))))

  ;; What readHead (resultFields.ts) reads of a head whose keys were noted, read the same way:
  ;; bytes 12-15: which parts were read (1: the hash's digests, 2: the number, 4: the parent's
  ;; first digits, 8: its last); 16-23: the number (f64); 24, 28: the hash's first 8 and last 5 hex
  ;; digits; 32, 36: the parent hash's.
  (func $readHead (param $length i32)
    (local $at i32)
    (local $read i32)
    (local $values i64)
    (local $digits i32)
    (local $n f64)
    (local $digit i32)
    (local $wanted i32)
    (local $bytes v128)
    ;; The hash: `"0x` and 64 characters, its digests from its first 8 and last 5 digits (bytes
    ;; 0-7 and 11-15 of those $hashDigits reads).
    (local.set $at (i32.load (i32.const 0)))
    (if (call $isHashAt (local.get $at) (local.get $length))
      (then
        (call $hashDigits (local.get $at))
        (local.set $digits)
        (local.set $values)
        (if (i32.eq (i32.and (local.get $digits) (i32.const 0xf8ff)) (i32.const 0xf8ff))
          (then
            (i32.store (i32.const 24) (i32.wrap_i64 (local.get $values)))
            (i32.store (i32.const 28) (i32.and (i32.wrap_i64 (i64.shr_u (local.get $values) (i64.const 32))) (i32.const 0xfffff)))
            (local.set $read (i32.const 1))))))
    ;; The number: `"0x`, hex digits up to a quote, a safe integer (summed as doubles, as quantityAt does).
    (local.set $at (i32.load (i32.const 4)))
    (block $number
      (br_if $number (i32.lt_s (local.get $at) (i32.const 0)))
      (br_if $number (i32.ge_s (i32.add (local.get $at) (i32.const 3)) (local.get $length)))
      (br_if $number (i32.ne (i32.load16_u offset=304 align=1 (local.get $at)) (i32.const 0x3022)))
      (br_if $number (i32.ne (i32.load8_u offset=306 (local.get $at)) (i32.const 120)))
      (local.set $at (i32.add (local.get $at) (i32.const 3)))
      ;; Up to 8 digits (any block number's) at once, when their quote is in the text.
      (local.set $bytes (v128.load offset=304 align=1 (local.get $at)))
      (local.set $digit (i32.ctz (i8x16.bitmask (i8x16.eq (local.get $bytes) (i8x16.splat (i32.const 34))))))
      (if (i32.and (i32.le_u (local.get $digit) (i32.const 8)) (i32.lt_s (i32.add (local.get $at) (local.get $digit)) (local.get $length)))
        (then
          (br_if $number (i32.eqz (local.get $digit)))
          (call $hexPair (local.get $bytes))
          (local.set $digits)
          (local.set $values)
          ;; The bytes before the quote must be digits; the value is less those after it.
          (local.set $wanted (i32.sub (i32.shl (i32.const 1) (local.get $digit)) (i32.const 1)))
          (br_if $number (i32.ne (i32.and (local.get $digits) (local.get $wanted)) (local.get $wanted)))
          (f64.store (i32.const 16)
            (f64.convert_i64_u
              (i64.shr_u (i64.and (local.get $values) (i64.const 0xffffffff)) (i64.extend_i32_u (i32.shl (i32.sub (i32.const 8) (local.get $digit)) (i32.const 2))))))
          (local.set $read (i32.or (local.get $read) (i32.const 2)))
          (br $number)))
      (loop $digits
        (br_if $number (i32.ge_s (local.get $at) (local.get $length)))
        (if (i32.ne (i32.load8_u offset=304 (local.get $at)) (i32.const 34))
          (then
            (local.set $digit (call $hexDigit (i32.load8_u offset=304 (local.get $at))))
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
        (call $hashDigits (local.get $at))
        (local.set $digits)
        (local.set $values)
        (if (i32.eq (i32.and (local.get $digits) (i32.const 0xff)) (i32.const 0xff))
          (then
            (i32.store (i32.const 32) (i32.wrap_i64 (local.get $values)))
            (local.set $read (i32.or (local.get $read) (i32.const 4)))))
        (if (i32.eq (i32.and (local.get $digits) (i32.const 0xf800)) (i32.const 0xf800))
          (then
            (i32.store (i32.const 36) (i32.and (i32.wrap_i64 (i64.shr_u (local.get $values) (i64.const 32))) (i32.const 0xfffff)))
            (local.set $read (i32.or (local.get $read) (i32.const 8)))))))
    (i32.store (i32.const 12) (local.get $read)))

  ;; Whether the text's first `n` bytes (16 at least) are the prefix's (bytes 48 on).
  (func $hasPrefix (param $n i32) (result i32)
    (local $at i32)
    (block $done
      (loop $chunks
        (br_if $done (i32.gt_s (i32.add (local.get $at) (i32.const 16)) (local.get $n)))
        (if (i32.eqz (i8x16.all_true (i8x16.eq (v128.load offset=304 align=1 (local.get $at)) (v128.load offset=48 align=1 (local.get $at)))))
          (then (return (i32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $chunks)))
    ;; The last bytes, in one load that ends at `n`.
    (local.set $at (i32.sub (local.get $n) (i32.const 16)))
    (i8x16.all_true (i8x16.eq (v128.load offset=304 align=1 (local.get $at)) (v128.load offset=48 align=1 (local.get $at)))))

  ;; $scan, and with `objectAt` and a text that passes, $readHead. With `prefix` (a length, 16 to
  ;; 256; 0: none), first whether the text opens with the prefix's bytes: 2 when it does not.
  (func (export "check") (param $length i32) (param $start i32) (param $end i32) (param $objectAt i32) (param $prefix i32) (result i32)
    (if (local.get $prefix)
      (then
        (if (i32.gt_s (local.get $prefix) (local.get $length)) (then (return (i32.const 2))))
        (if (i32.eqz (call $hasPrefix (local.get $prefix))) (then (return (i32.const 2))))))
    (if (i32.eqz (call $scan (local.get $length) (local.get $start) (local.get $end) (local.get $objectAt))) (then (return (i32.const 0))))
    (if (i32.ge_s (local.get $objectAt) (i32.const 0)) (then (call $readHead (local.get $length))))
    (i32.const 1))
)
