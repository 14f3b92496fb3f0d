//! Writing bits: the mirror of [`super::cursor`] and [`super::reader`].
//!
//! [`BitWriter`] appends fields least-significant bit first, copies bit
//! ranges of an input verbatim (word-wise when both sides are aligned), and
//! re-encodes records with the abbreviation they were read with. A block is
//! written as header, body, END_BLOCK; its length word is patched when the
//! block ends, so callers never compute lengths by hand.

use super::abbrev::{encode_char6, Abbrev, AbbrevOp};
use super::cursor::{load_le64, BitCursor, VBR6_CONTINUATION};
use super::reader::{BlockHeader, OperandSpan, Record, END_BLOCK, ENTER_SUBBLOCK, UNABBREV_RECORD};
use crate::error::Result;

/// An append-only bit buffer. Bits wait in `cur` until 32 have gathered
/// and go to `out` as one 32-bit word (as LLVM's writer does); whatever
/// looks at `out` first moves the whole bytes pending there
/// (`flush_bytes`).
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    out: Vec<u8>,
    cur: u64,
    nbits: u32,
}

/// A block opened by [`BitWriter::enter_block`], to be closed by
/// [`BitWriter::end_block`].
#[derive(Debug)]
#[must_use]
pub struct OpenBlock {
    abbrev_width: u32,
    /// Byte offset of the length word.
    len_at: usize,
    body_start_bit: u64,
}

impl OpenBlock {
    /// Bit position of the first entry of the body.
    pub fn body_start_bit(&self) -> u64 {
        self.body_start_bit
    }

    pub fn abbrev_width(&self) -> u32 {
        self.abbrev_width
    }
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer with room for `bytes` bytes before it grows.
    pub fn with_capacity(bytes: usize) -> Self {
        BitWriter {
            out: Vec::with_capacity(bytes),
            cur: 0,
            nbits: 0,
        }
    }

    /// A writer that continues after `prefix` (a whole number of bytes).
    pub fn with_prefix(prefix: Vec<u8>) -> Self {
        BitWriter {
            out: prefix,
            cur: 0,
            nbits: 0,
        }
    }

    /// Current bit position.
    pub fn position(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.nbits)
    }

    /// The whole bytes written so far (all of them when the position is byte aligned).
    pub fn bytes(&mut self) -> &[u8] {
        self.flush_bytes();
        &self.out
    }

    /// Moves the whole bytes of the pending bits to `out`.
    fn flush_bytes(&mut self) {
        while self.nbits >= 8 {
            self.out.push(self.cur as u8);
            self.cur >>= 8;
            self.nbits -= 8;
        }
    }

    /// Finishes, padding the last byte with zero bits.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.flush_bytes();
        if self.nbits > 0 {
            self.out.push(self.cur as u8);
        }
        self.out
    }

    /// Appends a `width`-bit field (0..=64).
    #[inline]
    pub fn emit(&mut self, value: u64, width: u32) {
        debug_assert!(width <= 64);
        debug_assert!(
            width == 64 || value >> width == 0,
            "{value} does not fit in {width} bits"
        );
        if width == 0 {
            return;
        }
        // At most 32 bits at a time: fewer than 32 pend, so `cur` never
        // holds more than 64.
        if width > 32 {
            self.emit(value & 0xffff_ffff, 32);
            self.emit(value >> 32, width - 32);
            return;
        }
        self.cur |= value << self.nbits;
        self.nbits += width;
        if self.nbits >= 32 {
            self.out.extend_from_slice(&(self.cur as u32).to_le_bytes());
            self.cur >>= 32;
            self.nbits -= 32;
        }
    }

    /// Appends a VBR field with `width`-bit chunks.
    #[inline]
    pub fn emit_vbr(&mut self, mut value: u64, width: u32) {
        let hi = 1u64 << (width - 1);
        if value < hi {
            self.emit(value, width);
            return;
        }
        // Chunks are gathered and appended up to 56 bits at a time.
        let mut acc = 0u64;
        let mut bits = 0u32;
        while value >= hi {
            if bits + width > 56 {
                self.emit(acc, bits);
                (acc, bits) = (0, 0);
            }
            acc |= ((value & (hi - 1)) | hi) << bits;
            bits += width;
            value >>= width - 1;
        }
        if bits + width > 56 {
            self.emit(acc, bits);
            (acc, bits) = (0, 0);
        }
        self.emit(acc | value << bits, bits + width);
    }

    /// Pads with zero bits to a multiple of 32 (from the buffer start).
    pub fn align32(&mut self) {
        let pad = (32 - (self.position() % 32) as u32) % 32;
        self.emit(0, pad);
        self.flush_bytes();
    }

    /// Appends raw bytes at a byte-aligned position.
    ///
    /// # Panics
    /// If the position is not byte aligned.
    pub fn emit_bytes(&mut self, bytes: &[u8]) {
        self.flush_bytes();
        assert_eq!(self.nbits, 0, "emit_bytes at an unaligned position");
        self.out.extend_from_slice(bytes);
    }

    /// Copies bits `[from, to)` of `src` (absolute bit positions).
    pub fn copy_bits(&mut self, src: &[u8], from: u64, to: u64) {
        debug_assert!(from <= to && to <= src.len() as u64 * 8);
        // A few bits (the parts of a record around spliced operands): one
        // load, one field.
        if to - from <= 32 {
            if let Some(word) = load_le64(src, (from / 8) as usize) {
                let n = (to - from) as u32;
                self.emit((word >> (from % 8)) & ((1u64 << n) - 1), n);
                return;
            }
        }
        let mut pos = from;
        self.flush_bytes();
        // Fast path: both sides byte aligned.
        if self.nbits == 0 && pos % 8 == 0 {
            let whole = ((to - pos) / 8) as usize;
            let start = (pos / 8) as usize;
            self.out.extend_from_slice(&src[start..start + whole]);
            pos += whole as u64 * 8;
        }
        // Otherwise 56 bits at a time from one 64-bit load, straight to
        // `out` (fewer than 8 bits pend after `flush_bytes`, so `cur` keeps
        // them below the new 56, and its seven low bytes go out)...
        while to - pos >= 56 {
            let Some(word) = load_le64(src, (pos / 8) as usize) else {
                break;
            };
            self.cur |= ((word >> (pos % 8)) & 0x00ff_ffff_ffff_ffff) << self.nbits;
            self.out.extend_from_slice(&self.cur.to_le_bytes()[..7]);
            self.cur >>= 56;
            pos += 56;
        }
        // ...and the rest up to 56 bits at a time, reading only the bytes
        // the source has.
        while pos < to {
            let shift = (pos % 8) as u32;
            let n = (to - pos).min(u64::from(56 - shift)) as u32;
            let byte = (pos / 8) as usize;
            let word = load_le64(src, byte).unwrap_or_else(|| {
                src[byte..]
                    .iter()
                    .take((shift + n).div_ceil(8) as usize)
                    .enumerate()
                    .fold(0u64, |w, (i, b)| w | u64::from(*b) << (8 * i))
            });
            self.emit((word >> shift) & ((1u64 << n) - 1), n);
            pos += u64::from(n);
        }
    }

    /// Overwrites `width` bits at bit position `at` (which must lie in whole
    /// bytes already written).
    pub fn patch_bits(&mut self, at: u64, value: u64, width: u32) {
        self.flush_bytes();
        debug_assert!(at + u64::from(width) <= self.out.len() as u64 * 8);
        for i in 0..u64::from(width) {
            let bit = at + i;
            let byte = &mut self.out[(bit / 8) as usize];
            let mask = 1u8 << (bit % 8);
            if (value >> i) & 1 == 1 {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }

    /// Overwrites the little-endian u32 at byte offset `at`.
    pub fn patch_u32(&mut self, at: usize, value: u32) {
        self.out[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Writes an ENTER_SUBBLOCK with the parent's abbreviation width and a
    /// placeholder length.
    pub fn enter_block(
        &mut self,
        parent_width: u32,
        block_id: u32,
        abbrev_width: u32,
    ) -> OpenBlock {
        self.emit(u64::from(ENTER_SUBBLOCK), parent_width);
        self.emit_vbr(u64::from(block_id), 8);
        self.emit_vbr(u64::from(abbrev_width), 4);
        self.align32();
        let len_at = self.out.len();
        self.emit(0, 32);
        OpenBlock {
            abbrev_width,
            len_at,
            body_start_bit: self.position(),
        }
    }

    /// Writes END_BLOCK, aligns, and patches the block's length.
    pub fn end_block(&mut self, block: OpenBlock) {
        self.emit(u64::from(END_BLOCK), block.abbrev_width);
        self.align32();
        let words = (self.position() - block.body_start_bit) / 32;
        self.patch_u32(block.len_at, words as u32);
    }

    /// Copies a whole block of `src` unchanged: a fresh header (the output
    /// position may differ in alignment), then the body word for word.
    pub fn copy_block(&mut self, src: &[u8], parent_width: u32, h: &BlockHeader) {
        let open = self.enter_block(parent_width, h.id, h.abbrev_width);
        self.copy_bits(src, h.body_start_bit, h.end_bit);
        let words = (self.position() - open.body_start_bit) / 32;
        debug_assert_eq!(words, h.len_words);
        self.patch_u32(open.len_at, words as u32);
    }

    /// Writes an unabbreviated record.
    pub fn emit_unabbrev(&mut self, width: u32, code: u32, ops: &[u64]) {
        self.emit(u64::from(UNABBREV_RECORD), width);
        self.emit_vbr(u64::from(code), 6);
        self.emit_vbr(ops.len() as u64, 6);
        for &op in ops {
            self.emit_vbr(op, 6);
        }
    }

    /// Writes a record with abbreviation `abbrev` (id `id`), which must be
    /// able to encode it (see [`encoded_size`]).
    pub fn emit_abbreviated(
        &mut self,
        width: u32,
        id: u32,
        abbrev: &Abbrev,
        code: u32,
        ops: &[u64],
        blob: Option<&[u8]>,
    ) {
        self.emit(u64::from(id), width);
        let mut values = std::iter::once(u64::from(code)).chain(ops.iter().copied());
        let mut remaining = ops.len() + 1;
        for op in abbrev.ops() {
            match op {
                AbbrevOp::Array(elem) => {
                    self.emit_vbr(remaining as u64, 6);
                    for v in values.by_ref() {
                        self.emit_scalar(elem, v);
                    }
                    remaining = 0;
                }
                AbbrevOp::Blob => {
                    let b = blob.expect("checked by encoded_size");
                    self.emit_vbr(b.len() as u64, 6);
                    self.align32();
                    self.emit_bytes(b);
                    self.align32();
                }
                scalar => {
                    let v = values.next().expect("checked by encoded_size");
                    remaining -= 1;
                    self.emit_scalar(scalar, v);
                }
            }
        }
    }

    /// Re-emits record `r` of `src` (read in a block of abbreviation id
    /// width `width`, with `abbrev` unless it is unabbreviated) with the
    /// operands `new` gives replaced (`(index, value)`, by increasing index,
    /// at most four), copying every other bit as it stands. Returns false,
    /// having written nothing, when the record lacks one of those operands
    /// or the encoding in place cannot hold its new value: the record must
    /// then be encoded anew.
    ///
    /// Where the encodings hold, this writes what re-encoding the record
    /// with its own abbreviation writes, without decoding its other
    /// operands.
    ///
    /// # Errors
    /// Parse errors for truncated data.
    pub fn splice_record(
        &mut self,
        src: &[u8],
        width: u32,
        abbrev: Option<&Abbrev>,
        r: &Record,
        new: &[(usize, u64)],
    ) -> Result<bool> {
        match self.splice_record_from(src, r.start_bit, width, abbrev, r, new)? {
            Some(tail) => {
                self.copy_bits(src, tail, r.end_bit);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// [`BitWriter::splice_record`] from bit `copied_to` of `src` (at
    /// most `r.start_bit`: the bits from there to the record are copied
    /// first, in the same copy as the record's first bits), and without
    /// the record's bits after the last operand replaced: returns where
    /// those start, for the caller to copy (with what follows, in one
    /// copy). `None`, having written nothing, where `splice_record`
    /// returns false.
    ///
    /// # Errors
    /// Parse errors for truncated data.
    pub fn splice_record_from(
        &mut self,
        src: &[u8],
        copied_to: u64,
        width: u32,
        abbrev: Option<&Abbrev>,
        r: &Record,
        new: &[(usize, u64)],
    ) -> Result<Option<u64>> {
        const MAX: usize = 4;
        assert!(new.len() <= MAX, "at most {MAX} operands are spliced");
        debug_assert!(new.windows(2).all(|p| p[0].0 < p[1].0));
        debug_assert!(copied_to <= r.start_bit);
        let Some(abbrev) = abbrev else {
            return self.splice_unabbreviated(src, copied_to, width, r, new);
        };
        let mut cursor = BitCursor::new(src, 0, src.len());
        cursor.seek(r.start_bit + u64::from(width))?;
        // (The operands found replace the placeholders.)
        const PLACEHOLDER: AbbrevOp = AbbrevOp::Literal(0);
        let mut spans: [(u64, u64, &AbbrevOp); MAX] = [(0, 0, &PLACEHOLDER); MAX];
        let mut wanted = [0usize; MAX];
        for (w, &(i, _)) in wanted.iter_mut().zip(new) {
            *w = i;
        }
        let wanted = &wanted[..new.len()];
        let mut k = 0;
        let found = abbrev.find_operands(&mut cursor, wanted, |_, from, to, op| {
            spans[k] = (from, to, op);
            k += 1;
        })?;
        let spans = &spans[..found];
        if found < new.len()
            || spans
                .iter()
                .zip(new)
                .any(|((_, _, op), &(_, v))| scalar_bits(op, v).is_none())
        {
            return Ok(None);
        }
        let mut at = copied_to;
        for ((from, to, op), &(_, v)) in spans.iter().zip(new) {
            self.copy_bits(src, at, *from);
            self.emit_scalar(op, v);
            at = *to;
        }
        Ok(Some(at))
    }

    /// [`BitWriter::splice_record_from`] for an unabbreviated record,
    /// whose operands are all VBR-6 and so hold any new value.
    fn splice_unabbreviated(
        &mut self,
        src: &[u8],
        copied_to: u64,
        width: u32,
        r: &Record,
        new: &[(usize, u64)],
    ) -> Result<Option<u64>> {
        let Some(spans) = unabbreviated_spans(src, width, r, new)? else {
            return Ok(None);
        };
        let mut at = copied_to;
        for (&(from, to), &(_, v)) in spans.iter().zip(new) {
            // (Operands that change often follow one another: a name's
            // offset and size, with no bits between.)
            if from > at {
                self.copy_bits(src, at, from);
            }
            self.emit_vbr(v, 6);
            at = to;
        }
        Ok(Some(at))
    }

    /// Writes `v` in the encoding of the operand at `span` (the bits
    /// before it are the caller's to copy).
    ///
    /// # Panics
    /// When the encoding cannot hold `v` ([`OperandSpan::holds`]).
    pub fn emit_for(&mut self, span: &OperandSpan, v: u64) {
        assert!(span.holds(v), "{v} does not fit {:?}", span.encoding);
        self.emit_scalar(&span.encoding, v);
    }

    fn emit_scalar(&mut self, op: &AbbrevOp, v: u64) {
        match op {
            AbbrevOp::Literal(_) => {}
            AbbrevOp::Fixed(w) => self.emit(v, *w),
            AbbrevOp::Vbr(w) => self.emit_vbr(v, *w),
            AbbrevOp::Char6 => {
                self.emit(encode_char6(v as u8).expect("checked by encoded_size"), 6)
            }
            AbbrevOp::Array(_) | AbbrevOp::Blob => unreachable!("scalar expected"),
        }
    }
}

/// Where each operand that `new` replaces (at most four, by increasing
/// index) stands in unabbreviated record `r` of `src`, read in a block of
/// abbreviation id width `width`: `None` when the record lacks one.
fn unabbreviated_spans(
    src: &[u8],
    width: u32,
    r: &Record,
    new: &[(usize, u64)],
) -> Result<Option<[(u64, u64); 4]>> {
    let start = r.start_bit + u64::from(width);
    if let Some(spans) = spans_in_one_load(src, start, r.end_bit, new) {
        return Ok(spans);
    }
    let mut cursor = BitCursor::new(src, 0, src.len());
    cursor.seek(start)?;
    cursor.read_vbr(6)?;
    let n = cursor.read_vbr(6)?;
    if new.last().is_some_and(|&(i, _)| i as u64 >= n) {
        return Ok(None);
    }
    let mut spans = [(0, 0); 4];
    let mut next = 0;
    for (span, &(i, _)) in spans.iter_mut().zip(new) {
        if i > next {
            cursor.skip_vbr6((i - next) as u64)?;
        }
        let from = cursor.position();
        cursor.read_vbr(6)?;
        (*span, next) = ((from, cursor.position()), i + 1);
    }
    Ok(Some(spans))
}

/// [`unabbreviated_spans`] for a record (its values from `start`, after
/// the abbreviation id, to `record_end`) whose code, operand count and operands
/// up to the last replaced one end within one 64-bit load (nine chunks;
/// a name's offset and size near the start of a global's record do):
/// where each ends is read from the chunks' continuation bits at once.
/// `None` for any other record.
fn spans_in_one_load(
    src: &[u8],
    start: u64,
    record_end: u64,
    new: &[(usize, u64)],
) -> Option<Option<[(u64, u64); 4]>> {
    let values = new.last()?.0 + 3;
    if values > 9 {
        return None;
    }
    let word = load_le64(src, (start / 8) as usize)? >> (start % 8);
    // Where each value (code, count, operands) ends, from `start`.
    let mut ends = [0u64; 9];
    let mut last_chunks = !word & VBR6_CONTINUATION;
    for end in ends.iter_mut().take(values) {
        if last_chunks == 0 {
            return None;
        }
        *end = u64::from(last_chunks.trailing_zeros()) + 1;
        last_chunks &= last_chunks - 1;
    }
    if start + ends[values - 1] > record_end {
        return None;
    }
    // The operand count: of one chunk, or else 32 or more (past any
    // operand looked at here).
    let count = if ends[1] - ends[0] == 6 {
        (word >> ends[0]) & 31
    } else {
        32
    };
    if new.last().is_some_and(|&(i, _)| i as u64 >= count) {
        return Some(None);
    }
    let mut spans = [(0, 0); 4];
    for (span, &(i, _)) in spans.iter_mut().zip(new) {
        *span = (start + ends[i + 1], start + ends[i + 2]);
    }
    Some(Some(spans))
}

fn vbr_bits(mut v: u64, width: u32) -> u64 {
    let mut bits = u64::from(width);
    let payload = width - 1;
    while v >> payload != 0 {
        v >>= payload;
        bits += u64::from(width);
    }
    bits
}

fn scalar_bits(op: &AbbrevOp, v: u64) -> Option<u64> {
    match op {
        AbbrevOp::Literal(l) => (*l == v).then_some(0),
        AbbrevOp::Fixed(w) => (*w == 64 || v >> w == 0).then_some(u64::from(*w)),
        AbbrevOp::Vbr(w) => Some(vbr_bits(v, *w)),
        AbbrevOp::Char6 => (v <= 255 && encode_char6(v as u8).is_some()).then_some(6),
        AbbrevOp::Array(_) | AbbrevOp::Blob => None,
    }
}

/// The bits `abbrev` needs for this record (after the abbreviation id), or
/// `None` if it cannot encode it. The blob's alignment padding is counted as
/// its worst case.
pub fn encoded_size(abbrev: &Abbrev, code: u32, ops: &[u64], blob: Option<&[u8]>) -> Option<u64> {
    // The values are the code, then the operands: value `i` is `at(i)`.
    let count = ops.len() + 1;
    let at = |i: usize| if i == 0 { u64::from(code) } else { ops[i - 1] };
    let mut i = 0;
    let mut bits = 0u64;
    let mut used_blob = false;
    for op in abbrev.ops() {
        match op {
            AbbrevOp::Array(elem) => {
                let from = i.min(count);
                bits += vbr_bits((count - from) as u64, 6);
                for j in from..count {
                    bits += scalar_bits(elem, at(j))?;
                }
                i = count;
            }
            AbbrevOp::Blob => {
                let b = blob?;
                used_blob = true;
                bits += vbr_bits(b.len() as u64, 6) + 31 + b.len() as u64 * 8 + 31;
            }
            scalar => {
                if i >= count {
                    return None;
                }
                bits += scalar_bits(scalar, at(i))?;
                i += 1;
            }
        }
    }
    (i == count && used_blob == blob.is_some()).then_some(bits)
}

/// Bits an unabbreviated record takes (after the abbreviation id).
pub fn unabbreviated_size(code: u32, ops: &[u64]) -> u64 {
    vbr_bits(u64::from(code), 6)
        + vbr_bits(ops.len() as u64, 6)
        + ops.iter().map(|&v| vbr_bits(v, 6)).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::super::cursor::BitCursor;
    use super::*;

    #[test]
    fn fields_round_trip_through_the_cursor() {
        let mut w = BitWriter::new();
        let fields: Vec<(u64, u32)> = (1..=64)
            .map(|width| ((0x9e37_79b9_7f4a_7c15u64 >> (64 - width)), width))
            .collect();
        for &(v, width) in &fields {
            w.emit(v, width);
            w.emit_vbr(v, 6);
        }
        w.align32();
        let bytes = w.into_bytes();
        let mut c = BitCursor::new(&bytes, 0, bytes.len());
        for &(v, width) in &fields {
            assert_eq!(c.read(width).unwrap(), v);
            assert_eq!(c.read_vbr(6).unwrap(), v);
        }
    }

    #[test]
    fn copy_bits_at_any_alignment() {
        let src: Vec<u8> = (0..40u32).map(|i| (i * 73 + 5) as u8).collect();
        // Up to the last bit of the source too, where fewer than 8 bytes
        // are left to load; short ranges (up to 32 bits) in one move.
        for (lead, to) in (0..9).flat_map(|l| [(l, 250u64), (l, 317), (l, 320)]) {
            for from in [0u64, 3, 8, 13, 32, 217, 218, 229, 240, 250, 285, 290, 316]
                .into_iter()
                .filter(|&f| f <= to)
            {
                let mut w = BitWriter::new();
                w.emit(0, lead);
                w.copy_bits(&src, from, to);
                let out = w.into_bytes();
                let mut a = BitCursor::new(&src, 0, src.len());
                a.seek(from).unwrap();
                let mut b = BitCursor::new(&out, 0, out.len());
                b.seek(u64::from(lead)).unwrap();
                for _ in from..to {
                    assert_eq!(a.read(1).unwrap(), b.read(1).unwrap());
                }
            }
        }
    }

    #[test]
    fn sizes_predict_what_is_written() {
        let abbrev = Abbrev::new(vec![
            AbbrevOp::Literal(1),
            AbbrevOp::Vbr(8),
            AbbrevOp::Array(Box::new(AbbrevOp::Char6)),
        ]);
        let ops: Vec<u64> = std::iter::once(7)
            .chain(b"mix.llvm.1.exit".iter().map(|&b| u64::from(b)))
            .collect();
        let size = encoded_size(&abbrev, 1, &ops, None).unwrap();
        let mut w = BitWriter::new();
        w.emit_abbreviated(4, 6, &abbrev, 1, &ops, None);
        assert_eq!(w.position(), 4 + size);
        // A character outside [a-zA-Z0-9._] does not fit Char6; the code must match the literal.
        assert_eq!(encoded_size(&abbrev, 1, &[7, u64::from(b'-')], None), None);
        assert_eq!(encoded_size(&abbrev, 2, &[7], None), None);
        let mut w = BitWriter::new();
        w.emit_unabbrev(3, 8, &[1, 1000, 0]);
        assert_eq!(w.position(), 3 + unabbreviated_size(8, &[1, 1000, 0]));
    }
}

#[cfg(test)]
mod splice_tests {
    use super::*;

    /// What `emit` writes after `lead` zero bits and before a trailer, with
    /// the bit range it wrote.
    fn written(lead: u32, emit: impl FnOnce(&mut BitWriter)) -> (Vec<u8>, u64, u64) {
        let mut w = BitWriter::new();
        w.emit(0, lead);
        let start = w.position();
        emit(&mut w);
        let end = w.position();
        w.emit(0x2a, 7);
        w.align32();
        (w.into_bytes(), start, end)
    }

    /// Splices `new` into the record; when that succeeds, checks it against
    /// the record encoded anew with its own abbreviation, at every lead.
    fn splice_agrees(
        abbrev: Option<&Abbrev>,
        code: u32,
        ops: &[u64],
        new: &[(usize, u64)],
    ) -> bool {
        const WIDTH: u32 = 4;
        let emit = |w: &mut BitWriter, ops: &[u64]| match abbrev {
            None => w.emit_unabbrev(WIDTH, code, ops),
            Some(a) => w.emit_abbreviated(WIDTH, 4, a, code, ops, None),
        };
        let mut changed = ops.to_vec();
        let mut results = Vec::new();
        for lead in 0..9 {
            let (src, start, end) = written(lead, |w| emit(w, ops));
            let r = Record {
                code,
                abbrev_id: if abbrev.is_some() { 4 } else { UNABBREV_RECORD },
                ops: Vec::new(),
                blob: None,
                start_bit: start,
                end_bit: end,
            };
            let mut w = BitWriter::new();
            w.emit(0, lead);
            let spliced = w.splice_record(&src, WIDTH, abbrev, &r, new).unwrap();
            if spliced {
                for &(i, v) in new {
                    changed[i] = v;
                }
                w.emit(0x2a, 7);
                w.align32();
                let (expected, _, _) = written(lead, |w| emit(w, &changed));
                assert_eq!(w.into_bytes(), expected, "lead {lead}, {new:?}");
            } else {
                assert_eq!(
                    w.position(),
                    u64::from(lead),
                    "nothing is written on failure"
                );
            }
            results.push(spliced);
        }
        assert!(results.iter().all(|&s| s == results[0]));
        results[0]
    }

    #[test]
    fn spliced_records_equal_records_encoded_anew() {
        let ops = [7u64, 123, 0, 1 << 40, 5, 31];
        assert!(splice_agrees(None, 9, &ops, &[(0, 9999)]));
        assert!(splice_agrees(
            None,
            9,
            &ops,
            &[(1, 1), (3, 2), (5, 1 << 50)]
        ));
        assert!(splice_agrees(None, 9, &ops, &[(2, 0), (4, 77), (5, 0)]));
        // An operand the record lacks.
        assert!(!splice_agrees(None, 9, &ops, &[(1, 1), (6, 2)]));

        let scalars = Abbrev::new(vec![
            AbbrevOp::Literal(3),
            AbbrevOp::Vbr(6),
            AbbrevOp::Fixed(4),
            AbbrevOp::Literal(8),
            AbbrevOp::Array(Box::new(AbbrevOp::Char6)),
        ]);
        let ops = [
            500u64,
            9,
            8,
            u64::from(b'a'),
            u64::from(b'.'),
            u64::from(b'Z'),
        ];
        assert!(splice_agrees(Some(&scalars), 3, &ops, &[(0, 1 << 33)]));
        assert!(splice_agrees(Some(&scalars), 3, &ops, &[(0, 1), (1, 15)]));
        assert!(splice_agrees(
            Some(&scalars),
            3,
            &ops,
            &[(2, 8), (4, u64::from(b'_'))]
        ));
        // A fixed field too narrow, a literal that differs, a character
        // Char6 cannot hold, an element past the array's end.
        assert!(!splice_agrees(Some(&scalars), 3, &ops, &[(1, 16)]));
        assert!(!splice_agrees(Some(&scalars), 3, &ops, &[(2, 9)]));
        assert!(!splice_agrees(
            Some(&scalars),
            3,
            &ops,
            &[(0, 4), (5, u64::from(b'-'))]
        ));
        assert!(!splice_agrees(Some(&scalars), 3, &ops, &[(6, 1)]));
    }

    /// Records that follow one another spliced in one pass (each from
    /// where the last left off, the bits between copied together) give
    /// what splicing each on its own gives, whichever way each is spliced.
    #[test]
    fn records_spliced_in_one_pass_equal_records_spliced_one_by_one() {
        const WIDTH: u32 = 4;
        let scalars = Abbrev::new(vec![
            AbbrevOp::Literal(3),
            AbbrevOp::Vbr(6),
            AbbrevOp::Vbr(6),
        ]);
        // Unabbreviated (the quick way, and the usual way past nine
        // chunks), abbreviated, and one left as it is, each after others.
        type Spliced<'a> = (Option<&'a Abbrev>, Vec<u64>, &'a [(usize, u64)]);
        let records: [Spliced<'_>; 6] = [
            (None, vec![1000, 7, 3, 4], &[(0, 5), (1, 99_999)]),
            (None, vec![1 << 40, 7, 3], &[(2, 1 << 30)]),
            (None, vec![5, 6, 7], &[(0, 77), (1, 1)]),
            (Some(&scalars), vec![12, 13], &[(0, 1 << 20), (1, 2)]),
            (None, vec![1, 2], &[]),
            (None, vec![8, 9], &[(1, 4096)]),
        ];
        let mut src = BitWriter::new();
        src.emit(0, 5);
        let mut spans = Vec::new();
        for (abbrev, ops, _) in &records {
            let start = src.position();
            match abbrev {
                None => src.emit_unabbrev(WIDTH, 9, ops),
                Some(a) => src.emit_abbreviated(WIDTH, 4, a, 3, ops, None),
            }
            spans.push((start, src.position()));
        }
        // (Room after the last record for a load of eight bytes.)
        src.emit(0, 64);
        src.align32();
        let src = src.into_bytes();
        let record = |i: usize| Record {
            code: 0,
            abbrev_id: if records[i].0.is_some() {
                4
            } else {
                UNABBREV_RECORD
            },
            ops: Vec::new(),
            blob: None,
            start_bit: spans[i].0,
            end_bit: spans[i].1,
        };
        let mut one_by_one = BitWriter::new();
        let mut one_pass = BitWriter::new();
        let mut copied_to = spans[0].0;
        for (i, (abbrev, _, new)) in records.iter().enumerate() {
            let r = record(i);
            if new.is_empty() {
                one_by_one.copy_bits(&src, r.start_bit, r.end_bit);
                continue;
            }
            assert!(one_by_one
                .splice_record(&src, WIDTH, *abbrev, &r, new)
                .unwrap());
            copied_to = one_pass
                .splice_record_from(&src, copied_to, WIDTH, *abbrev, &r, new)
                .unwrap()
                .expect("spliced");
        }
        one_pass.copy_bits(&src, copied_to, spans[5].1);
        one_by_one.align32();
        one_pass.align32();
        assert_eq!(one_pass.into_bytes(), one_by_one.into_bytes());
    }

    /// Unabbreviated records whose header and first operands fit one load
    /// (the quick way) or not, with counts of one and two chunks, spliced
    /// at random: each equals the record encoded anew, or is refused when
    /// it lacks an operand.
    #[test]
    fn unabbreviated_records_spliced_either_way_equal_records_encoded_anew() {
        let mut next = crate::testing::xorshift(0x3c6e_f372_fe94_f82b);
        let (mut spliced, mut refused) = (0, 0);
        for _ in 0..400 {
            let n = [0, 1, 2, 3, 5, 9, 17, 31, 33, 40][(next() % 10) as usize];
            let ops: Vec<u64> = (0..n)
                .map(|_| match next() % 4 {
                    0 => next() % 32,
                    1 => next() % 1024,
                    2 => next() % (1 << 20),
                    _ => next() >> (next() % 64),
                })
                .collect();
            let mut new: Vec<(usize, u64)> = Vec::new();
            let mut i = (next() % 3) as usize;
            while new.len() < 1 + (next() % 4) as usize {
                new.push((i, next() >> (next() % 64)));
                i += 1 + (next() % 2) as usize;
            }
            let code = [8, 40, 2000][(next() % 3) as usize];
            if splice_agrees(None, code, &ops, &new) {
                spliced += 1;
            } else {
                assert!(new.last().unwrap().0 >= ops.len(), "{ops:?} {new:?}");
                refused += 1;
            }
        }
        assert!(
            spliced > 100 && refused > 20,
            "{spliced} spliced, {refused} refused"
        );
    }
}
