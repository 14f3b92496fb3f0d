//! Abbreviations: how DEFINE_ABBREV describes a record's layout, and how an
//! abbreviated record is read with one.

use std::ops::Range;

use super::cursor::{short_vbr6, BitCursor};
use crate::error::{Error, Result};

/// One operand of an abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbbrevOp {
    /// A constant that takes no bits in the record.
    Literal(u64),
    /// A fixed-width field (1..=64 bits).
    Fixed(u32),
    /// A variable-width field with chunks of this many bits (2..=32).
    Vbr(u32),
    /// A vbr6 count followed by that many elements of the given scalar kind.
    Array(Box<AbbrevOp>),
    /// A 6-bit character from `[a-zA-Z0-9._]`.
    Char6,
    /// A vbr6 byte count, 32-bit alignment, the bytes, 32-bit alignment.
    Blob,
}

/// A record layout defined by DEFINE_ABBREV. The first operand gives the
/// record code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abbrev {
    /// The operands, private so that `code` and `scalars`, made from them,
    /// stay true.
    ops: Vec<AbbrevOp>,
    /// The record code, when the first operand gives it as a literal that
    /// fits in 32 bits.
    code: Option<u32>,
    /// How to step over the operands after the code, when they are all
    /// scalars (most records in function bodies): made once from `ops`.
    /// Held in place, as `code` is, so that stepping over a record reads
    /// them next to each other, not through the operand list.
    scalars: Option<ScalarSteps>,
    /// How to reach the characters of a record with this abbreviation,
    /// when its operands end with an array of them: made once from `ops`.
    chars: Option<CharArray>,
}

/// An abbreviation whose operands are scalars and then an array of
/// characters, Char6 or fixed fields of at most 8 bits (as LLVM writes
/// names): the steps over the fields before the array (the code's
/// included), and the array's elements, with what comparing many of them
/// at once takes (see [`CharArray::holds_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CharArray {
    before: ScalarSteps,
    char6: bool,
    /// Bits an element takes.
    width: u64,
    /// Elements a 56-bit load holds whole.
    lanes: u64,
    /// The lowest bit of each of those elements; the bits of each but its
    /// top one; the top one of each.
    ones: u64,
    low: u64,
    high: u64,
}

/// The most bytes of a needle [`Abbrev::chars_lack`] looks for.
const NEEDLE_PROBE: usize = 3;

impl CharArray {
    fn of(ops: &[AbbrevOp]) -> Option<CharArray> {
        let (AbbrevOp::Array(elem), before) = ops.split_last()? else {
            return None;
        };
        let (width, char6) = match **elem {
            AbbrevOp::Char6 => (6, true),
            AbbrevOp::Fixed(w) if (1..=8).contains(&w) => (u64::from(w), false),
            _ => return None,
        };
        let lanes = 56 / width;
        let ones = (0..lanes).fold(0u64, |m, i| m | 1 << (i * width));
        Some(CharArray {
            before: ScalarSteps::of(before)?,
            char6,
            width,
            lanes,
            ones,
            low: ones * ((1 << (width - 1)) - 1),
            high: ones << (width - 1),
        })
    }

    /// The element that holds byte `b`, if one can.
    fn element(&self, b: u8) -> Option<u64> {
        if self.char6 {
            encode_char6(b)
        } else {
            (u64::from(b) >> self.width == 0).then_some(u64::from(b))
        }
    }

    /// Whether the `n` elements at bit `start` of `cursor`'s data hold
    /// the run `run` (at most [`NEEDLE_PROBE`] element values) one after
    /// another: `None` where they reach too near the end of the data to
    /// be looked at this way.
    ///
    /// A 56-bit load holds `lanes` elements, compared at once: an element
    /// equal to `v` is one whose bits XOR `v` are all zero, which an add
    /// that carries within each element shows (its top bit stays clear).
    #[inline]
    fn holds_run(&self, cursor: &BitCursor<'_>, start: u64, n: u64, run: &[u64]) -> Option<bool> {
        let k = run.len() as u64;
        if k == 0 {
            return Some(true);
        }
        let w = self.width;
        let mut patterns = [0u64; NEEDLE_PROBE];
        for (p, &v) in patterns.iter_mut().zip(run) {
            *p = self.ones * v;
        }
        let mut i = 0;
        while i + k <= n {
            let window = cursor.peek56_at(start + i * w)?;
            // The elements where a run may start, of those in the window.
            let held = (n - i).min(self.lanes);
            let mut starts = self.high & ((1u64 << ((held - k + 1) * w)) - 1);
            for (j, &p) in (0u64..).zip(&patterns[..run.len()]) {
                let x = window ^ p;
                let nonzero = ((x & self.low) + self.low) | x;
                starts &= !nonzero >> (j * w);
            }
            if starts != 0 {
                return Some(true);
            }
            // The next load starts at the first start not looked at.
            i += self.lanes - k + 1;
        }
        Some(false)
    }
}

/// The most VBR fields [`ScalarSteps`] holds (LLVM's abbreviations have at
/// most three); records of an abbreviation with more are stepped over the
/// usual way.
const MAX_VBR_STEPS: usize = 6;

/// The scalar operands of an abbreviation after its code, as steps: fixed
/// bits to move over, then a VBR field, and the fixed bits after the last.
/// Stepping over a record this way costs a few operations per VBR field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScalarSteps {
    /// (fixed bits before the field, the continuation bit of each of the
    /// field's chunks that fit in 56 bits), the first `count` in use.
    vbrs: [(u64, u64); MAX_VBR_STEPS],
    count: usize,
    /// Fixed bits after the last VBR field.
    tail: u64,
}

impl ScalarSteps {
    fn of(ops: &[AbbrevOp]) -> Option<ScalarSteps> {
        let mut steps = ScalarSteps {
            vbrs: [(0, 0); MAX_VBR_STEPS],
            count: 0,
            tail: 0,
        };
        for op in ops {
            match op {
                AbbrevOp::Literal(_) => {}
                AbbrevOp::Fixed(w) => steps.tail += u64::from(*w),
                AbbrevOp::Char6 => steps.tail += 6,
                // (Widths LLVM refuses are left to the usual way.)
                AbbrevOp::Vbr(w) if !(2..=32).contains(w) => return None,
                AbbrevOp::Vbr(w) => {
                    let continuation = (1..=56 / w).fold(0u64, |m, i| m | 1 << (i * w - 1));
                    *steps.vbrs.get_mut(steps.count)? = (steps.tail, continuation);
                    steps.count += 1;
                    steps.tail = 0;
                }
                AbbrevOp::Array(_) | AbbrevOp::Blob => return None,
            }
        }
        Some(steps)
    }

    /// The bits the fields take at the low end of `window`, whose low
    /// `avail` bits (at most 63) are data: `None` where a field does not
    /// end within them.
    #[inline]
    fn bits_in(&self, window: u64, avail: u64) -> Option<u64> {
        let mut used = 0;
        for &(before, continuation) in &self.vbrs[..self.count] {
            used += before;
            if used >= avail {
                return None;
            }
            // An end found past the data (in bits shifted in) puts `used`
            // past `avail`, which the last check refuses.
            let ends = !(window >> used) & continuation;
            if ends == 0 {
                return None;
            }
            used += u64::from(ends.trailing_zeros()) + 1;
        }
        used += self.tail;
        (used <= avail).then_some(used)
    }

    /// Steps over the fields; `None`, with the cursor left where it was,
    /// where a field lies near the end of the data or a VBR value runs past
    /// 56 bits: the caller then reads them the usual way.
    #[inline]
    fn skip(&self, cursor: &mut BitCursor<'_>) -> Option<()> {
        let mut pos = cursor.position();
        for &(before, continuation) in &self.vbrs[..self.count] {
            pos = pos.saturating_add(before);
            let ends = !cursor.peek56_at(pos)? & continuation;
            if ends == 0 {
                return None;
            }
            pos += u64::from(ends.trailing_zeros()) + 1;
        }
        cursor.seek(pos.saturating_add(self.tail)).ok()
    }
}

/// The bits a value of this scalar kind needs at least (for length limits).
fn min_bits(op: &AbbrevOp) -> u64 {
    match op {
        AbbrevOp::Literal(_) => 0,
        AbbrevOp::Fixed(w) | AbbrevOp::Vbr(w) => u64::from(*w),
        AbbrevOp::Char6 => 6,
        AbbrevOp::Array(_) | AbbrevOp::Blob => 6,
    }
}

/// Decodes a Char6 value.
pub fn decode_char6(v: u64) -> u8 {
    const CHAR6: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._";
    CHAR6[(v & 63) as usize]
}

/// Encodes a byte as Char6, if it is one of `[a-zA-Z0-9._]`.
pub fn encode_char6(c: u8) -> Option<u64> {
    Some(match c {
        b'a'..=b'z' => u64::from(c - b'a'),
        b'A'..=b'Z' => u64::from(c - b'A') + 26,
        b'0'..=b'9' => u64::from(c - b'0') + 52,
        b'.' => 62,
        b'_' => 63,
        _ => return None,
    })
}

impl Abbrev {
    /// An abbreviation with these operands (the first gives the code).
    pub fn new(ops: Vec<AbbrevOp>) -> Abbrev {
        let code = match ops.first() {
            Some(AbbrevOp::Literal(code)) => u32::try_from(*code).ok(),
            _ => None,
        };
        let scalars = ops.get(1..).and_then(ScalarSteps::of);
        let chars = CharArray::of(&ops);
        Abbrev {
            ops,
            code,
            scalars,
            chars,
        }
    }

    /// The operands (the first gives the code).
    pub fn ops(&self) -> &[AbbrevOp] {
        &self.ops
    }

    /// Reads a DEFINE_ABBREV body (after its abbrev id).
    ///
    /// # Errors
    /// Parse errors for truncated or invalid definitions: unknown encodings,
    /// widths out of range, an array not followed by exactly one scalar
    /// element, a blob that is not last, or an array or blob giving the code.
    pub fn read_definition(cursor: &mut BitCursor<'_>) -> Result<Abbrev> {
        let start = cursor.position();
        let count = cursor.read_vbr(5)?;
        // Each operand takes at least 1 bit: refuse counts the data cannot hold.
        if count == 0 || count > cursor.bits_left() {
            return Err(Error::parse(
                start,
                format!("abbreviation with {count} operands"),
            ));
        }
        let mut ops: Vec<AbbrevOp> = Vec::with_capacity(count.min(64) as usize);
        let mut i = 0;
        while i < count {
            let op = Self::read_op(cursor)?;
            i += 1;
            match op {
                AbbrevOp::Array(_) => {
                    if i + 1 != count {
                        return Err(Error::parse(
                            start,
                            "array in an abbreviation must be followed by exactly one element operand",
                        ));
                    }
                    let elem = Self::read_op(cursor)?;
                    i += 1;
                    if matches!(elem, AbbrevOp::Array(_) | AbbrevOp::Blob) {
                        return Err(Error::parse(start, "array element must be a scalar"));
                    }
                    ops.push(AbbrevOp::Array(Box::new(elem)));
                }
                AbbrevOp::Blob if i != count => {
                    return Err(Error::parse(
                        start,
                        "blob must be the last abbreviation operand",
                    ));
                }
                op => ops.push(op),
            }
        }
        if matches!(ops[0], AbbrevOp::Array(_) | AbbrevOp::Blob) {
            return Err(Error::parse(
                start,
                "abbreviation starts with an array or a blob",
            ));
        }
        Ok(Abbrev::new(ops))
    }

    fn read_op(cursor: &mut BitCursor<'_>) -> Result<AbbrevOp> {
        let at = cursor.position();
        if cursor.read(1)? == 1 {
            return Ok(AbbrevOp::Literal(cursor.read_vbr(8)?));
        }
        let encoding = cursor.read(3)?;
        Ok(match encoding {
            1 | 2 => {
                let width = cursor.read_vbr(5)?;
                // LLVM reads a zero width as the literal 0.
                if width == 0 {
                    return Ok(AbbrevOp::Literal(0));
                }
                let max = if encoding == 1 { 64 } else { 32 };
                if width > max || (encoding == 2 && width < 2) {
                    return Err(Error::parse(
                        at,
                        format!(
                            "{} width {width} out of range",
                            if encoding == 1 { "fixed" } else { "VBR" }
                        ),
                    ));
                }
                if encoding == 1 {
                    AbbrevOp::Fixed(width as u32)
                } else {
                    AbbrevOp::Vbr(width as u32)
                }
            }
            3 => AbbrevOp::Array(Box::new(AbbrevOp::Literal(0))),
            4 => AbbrevOp::Char6,
            5 => AbbrevOp::Blob,
            other => {
                return Err(Error::parse(
                    at,
                    format!("unknown abbreviation operand encoding {other}"),
                ));
            }
        })
    }

    /// Reads one scalar value.
    #[inline(always)]
    fn read_scalar(op: &AbbrevOp, cursor: &mut BitCursor<'_>) -> Result<u64> {
        match op {
            AbbrevOp::Literal(v) => Ok(*v),
            AbbrevOp::Fixed(w) => cursor.read(*w),
            AbbrevOp::Vbr(w) => cursor.read_vbr(*w),
            AbbrevOp::Char6 => Ok(u64::from(decode_char6(cursor.read(6)?))),
            AbbrevOp::Array(_) | AbbrevOp::Blob => {
                unreachable!("checked when the abbreviation was read")
            }
        }
    }

    /// Reads the record code (the first operand) of a record with this
    /// abbreviation.
    ///
    /// # Errors
    /// Parse errors for truncated data.
    pub fn read_code(&self, cursor: &mut BitCursor<'_>) -> Result<u64> {
        Self::read_scalar(&self.ops[0], cursor)
    }

    /// [`Abbrev::step_record`] on bits at hand: the record's code and the
    /// bits its operands take at the low end of `window`, whose low `avail`
    /// bits (at most 63) are data; `None` where they do not all lie there
    /// (or the record is not one `step_record` steps over).
    #[inline]
    pub fn step_in_window(&self, window: u64, avail: u64) -> Option<(u32, u64)> {
        let code = self.literal_code()?;
        Some((code, self.scalars.as_ref()?.bits_in(window, avail)?))
    }

    /// The record code, when the abbreviation gives it as a literal that
    /// fits in 32 bits.
    #[inline]
    pub fn literal_code(&self) -> Option<u32> {
        self.code
    }

    /// Steps over a whole record with this abbreviation, the cursor just
    /// past the abbreviation id, when its code is a literal that fits in 32
    /// bits and its operands are all scalars: a load and a few operations
    /// per VBR field. Returns the code; `None`, with the cursor left where
    /// it was, for other abbreviations and wherever [`Abbrev::skip_operands`]
    /// would go the usual way (the caller then does).
    #[inline]
    pub fn step_record(&self, cursor: &mut BitCursor<'_>) -> Option<u32> {
        let code = self.literal_code()?;
        self.scalars.as_ref()?.skip(cursor)?;
        Some(code)
    }

    /// Where a record with this abbreviation ends, the cursor just past its
    /// abbreviation id, when its operands end with an array of characters
    /// (Char6, or fixed fields of at most 8 bits, as LLVM writes names)
    /// that cannot hold `needle`: the characters hold no run of the
    /// needle's first three bytes (all of it if shorter). A reader that
    /// wants only names containing `needle` can step over such a record
    /// unread. `None` where the characters may hold it, for other
    /// abbreviations, and where the record lies near the end of the data or
    /// is out of the ordinary (a VBR field of more than 56 bits): the
    /// caller then reads it the usual way, which reports what is wrong.
    /// The cursor does not move.
    #[inline]
    pub fn chars_lack(&self, cursor: &BitCursor<'_>, needle: &[u8]) -> Option<u64> {
        let shape = self.chars.as_ref()?;
        let at = cursor.position();
        let before = shape.before.bits_in(cursor.peek56_at(at)?, 56)?;
        let (n, count_bits) = short_vbr6(cursor.peek56_at(at + before)?)?;
        let start = at + before + count_bits;
        let end = start.checked_add(n.checked_mul(shape.width)?)?;
        if end > cursor.end() {
            return None;
        }
        let probe = &needle[..needle.len().min(NEEDLE_PROBE)];
        let mut run = [0u64; NEEDLE_PROBE];
        for (v, &b) in run.iter_mut().zip(probe) {
            // A byte no element holds: no run of elements is the needle.
            *v = match shape.element(b) {
                Some(e) => e,
                None => return Some(end),
            };
        }
        match shape.holds_run(cursor, start, n, &run[..probe.len()])? {
            true => None,
            false => Some(end),
        }
    }

    /// Reads the operands after the code (see [`Abbrev::read_code`]),
    /// appending them to `ops` (array elements included) and returning the
    /// blob's byte range.
    ///
    /// # Errors
    /// Parse errors for truncated data and for array or blob lengths the
    /// remaining data cannot hold (checked before allocating).
    pub fn read_operands(
        &self,
        cursor: &mut BitCursor<'_>,
        ops: &mut Vec<u64>,
    ) -> Result<Option<Range<usize>>> {
        self.walk_operands::<true>(cursor, ops)
    }

    /// Steps over the operands after the code, checking them as
    /// [`Abbrev::read_operands`] does; arrays of fixed-width elements are
    /// stepped over in one move. Returns the blob's byte range.
    ///
    /// # Errors
    /// As [`Abbrev::read_operands`].
    pub fn skip_operands(&self, cursor: &mut BitCursor<'_>) -> Result<Option<Range<usize>>> {
        if let Some(()) = self.scalars.as_ref().and_then(|s| s.skip(cursor)) {
            return Ok(None);
        }
        self.walk_operands::<false>(cursor, &mut Vec::new())
    }

    /// Finds where the operands `wanted` (increasing indices, counted as
    /// [`Abbrev::read_operands`] counts them) of a record with this
    /// abbreviation stand, the cursor just past the abbreviation id. Calls
    /// `found(index, from_bit, to_bit, encoding)` for each, and returns
    /// how many it found (fewer when the record has fewer operands). Stops
    /// at the last one wanted.
    ///
    /// # Errors
    /// Parse errors for truncated data.
    pub fn find_operands<'s>(
        &'s self,
        cursor: &mut BitCursor<'_>,
        wanted: &[usize],
        mut found: impl FnMut(usize, u64, u64, &'s AbbrevOp),
    ) -> Result<usize> {
        let mut next = 0;
        let mut index = 0;
        Self::read_scalar(&self.ops[0], cursor)?;
        for op in &self.ops[1..] {
            let (elem, count) = match op {
                AbbrevOp::Array(elem) => (&**elem, cursor.read_vbr(6)?),
                AbbrevOp::Blob => break,
                scalar => (scalar, 1),
            };
            for _ in 0..count {
                let Some(&want) = wanted.get(next) else {
                    return Ok(next);
                };
                let from = cursor.position();
                Self::read_scalar(elem, cursor)?;
                if want == index {
                    found(index, from, cursor.position(), elem);
                    next += 1;
                }
                index += 1;
            }
        }
        Ok(next)
    }

    /// Reads the operands into `ops` when `KEEP`, else steps over them
    /// (with the same checks and errors): one function compiled twice.
    fn walk_operands<const KEEP: bool>(
        &self,
        cursor: &mut BitCursor<'_>,
        ops: &mut Vec<u64>,
    ) -> Result<Option<Range<usize>>> {
        let mut blob = None;
        for op in &self.ops[1..] {
            match op {
                AbbrevOp::Array(elem) => {
                    let at = cursor.position();
                    let n = cursor.read_vbr(6)?;
                    let need = n.saturating_mul(min_bits(elem).max(1));
                    if need > cursor.bits_left() {
                        return Err(Error::parse(
                            at,
                            format!("array of {n} elements runs past the end of the data"),
                        ));
                    }
                    match (KEEP, &**elem) {
                        // Names: many fields of a few bits, read a load at a time.
                        (true, AbbrevOp::Fixed(w)) if *w <= 32 => {
                            ops.reserve(n as usize);
                            cursor.read_fixed_run(n, *w, ops, |v| v)?;
                        }
                        (true, AbbrevOp::Char6) => {
                            ops.reserve(n as usize);
                            cursor.read_fixed_run(n, 6, ops, |v| u64::from(decode_char6(v)))?;
                        }
                        (true, elem) => {
                            ops.reserve(n as usize);
                            for _ in 0..n {
                                ops.push(Self::read_scalar(elem, cursor)?);
                            }
                        }
                        // `need` is exactly their size, and it fits.
                        (false, AbbrevOp::Fixed(_) | AbbrevOp::Char6) => {
                            cursor.seek(cursor.position() + need)?;
                        }
                        (false, AbbrevOp::Vbr(6)) => cursor.skip_vbr6(n)?,
                        (false, elem) => {
                            for _ in 0..n {
                                Self::read_scalar(elem, cursor)?;
                            }
                        }
                    }
                }
                AbbrevOp::Blob => {
                    let at = cursor.position();
                    let n = cursor.read_vbr(6)?;
                    cursor.align32()?;
                    if n.saturating_mul(8) > cursor.bits_left() {
                        return Err(Error::parse(
                            at,
                            format!("blob of {n} bytes runs past the end of the data"),
                        ));
                    }
                    let start = (cursor.position() / 8) as usize;
                    cursor.seek(cursor.position() + n * 8)?;
                    cursor.align32()?;
                    blob = Some(start..start + n as usize);
                }
                scalar if KEEP => ops.push(Self::read_scalar(scalar, cursor)?),
                AbbrevOp::Literal(_) => {}
                AbbrevOp::Fixed(w) => cursor.skip(*w)?,
                AbbrevOp::Char6 => cursor.skip(6)?,
                AbbrevOp::Vbr(w) => {
                    cursor.read_vbr(*w)?;
                }
            }
        }
        Ok(blob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char6_round_trip() {
        for c in b"azAZ09._".iter().copied() {
            assert_eq!(decode_char6(encode_char6(c).unwrap()), c);
        }
        assert_eq!(encode_char6(b'-'), None);
        for v in 0..64 {
            assert_eq!(encode_char6(decode_char6(v)), Some(v));
        }
    }

    /// Stepping over scalar operands by [`ScalarSteps`] lands where reading
    /// them one by one does, and fails with the same error, for VBR values
    /// short and long (past 56 bits, past 64 bits of chunks), records near
    /// and past the end of the data, and every kind of scalar.
    #[test]
    fn scalar_steps_agree_with_reading_operands_one_by_one() {
        use crate::bitstream::writer::BitWriter;
        let mut next = crate::testing::xorshift(0x51_7cc1_b727_220a);
        let (mut fast, mut compared) = (0, 0);
        for round in 0..2000 {
            let mut ops = vec![AbbrevOp::Literal(next() % 40)];
            for _ in 0..1 + next() % 6 {
                ops.push(match next() % 5 {
                    0 => AbbrevOp::Literal(next() % 9),
                    1 => AbbrevOp::Fixed(1 + (next() % 64) as u32),
                    2 => AbbrevOp::Char6,
                    _ => AbbrevOp::Vbr([2, 4, 6, 8, 16, 32][(next() % 6) as usize]),
                });
            }
            let abbrev = Abbrev::new(ops.clone());
            assert!(abbrev.scalars.is_some());
            let mut w = BitWriter::new();
            w.emit(0, (round % 8) as u32);
            for op in &ops[1..] {
                match *op {
                    AbbrevOp::Fixed(width) => w.emit(next() >> (64 - width), width),
                    AbbrevOp::Char6 => w.emit(next() % 64, 6),
                    AbbrevOp::Vbr(width) if next() % 10 == 0 => {
                        // A value of more than 64 bits' worth of chunks.
                        for _ in 0..64 / (width - 1) + 1 {
                            w.emit((1 << (width - 1)) | 1, width);
                        }
                        w.emit(1, width);
                    }
                    AbbrevOp::Vbr(width) => w.emit_vbr(next() >> (next() % 64), width),
                    _ => {}
                }
            }
            w.emit(next(), 64);
            let data = w.into_bytes();
            for cut in [0, 1, 2, 4, 7, 9, 12] {
                let end = data.len().saturating_sub(cut);
                let mut slow = BitCursor::new(&data, 0, end);
                if slow.seek(round % 8).is_err() {
                    continue;
                }
                let mut quick = slow.clone();
                let by_reading = abbrev.walk_operands::<false>(&mut slow, &mut Vec::new());
                let by_steps = abbrev.skip_operands(&mut quick);
                match (by_reading, by_steps) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b);
                        assert_eq!(slow.position(), quick.position(), "round {round} cut {cut}");
                        compared += 1;
                        let mut again = BitCursor::new(&data, 0, end);
                        again.seek(round % 8).unwrap();
                        fast += usize::from(
                            abbrev.scalars.as_ref().unwrap().skip(&mut again).is_some(),
                        );
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => panic!("round {round} cut {cut}: {a:?} vs {b:?}"),
                }
            }
        }
        // Both ways are taken, each many times.
        assert!(
            fast > 2000 && compared - fast > 2000,
            "{fast} of {compared}"
        );
    }

    /// [`Abbrev::chars_lack`] steps over a record exactly when its
    /// characters hold no run of the needle's first three bytes, to where
    /// reading it ends; it leaves the others, and records near the end of
    /// the data, to the usual way. Char6 and fixed-width characters, runs
    /// across the loads it compares at once, needles no element can hold.
    #[test]
    fn records_whose_characters_lack_the_needle_are_stepped_over() {
        use crate::bitstream::writer::BitWriter;
        let mut next = crate::testing::xorshift(0x9b05_688c_2b3e_6c1f);
        let (mut stepped, mut left) = (0, 0);
        for round in 0..20_000 {
            let elem = match round % 4 {
                0 => AbbrevOp::Char6,
                1 => AbbrevOp::Fixed(7),
                2 => AbbrevOp::Fixed(8),
                _ => AbbrevOp::Fixed(1 + (next() % 8) as u32),
            };
            let code = [AbbrevOp::Literal(2), AbbrevOp::Fixed(3), AbbrevOp::Vbr(4)];
            let mut ops = vec![code[round % 3].clone()];
            for _ in 0..next() % 3 {
                ops.push(
                    [AbbrevOp::Vbr(8), AbbrevOp::Fixed(5), AbbrevOp::Vbr(6)][(next() % 3) as usize]
                        .clone(),
                );
            }
            ops.push(AbbrevOp::Array(Box::new(elem.clone())));
            let abbrev = Abbrev::new(ops.clone());
            // Bytes of a small alphabet, so that runs of the needle's occur
            // (small values for narrow fields).
            let alphabet = match elem {
                AbbrevOp::Fixed(w) if w < 7 => [0, 1, 2, 3, 4, 5].map(|b| b % (1 << w)),
                _ => *b"ab.A\x7f\xff",
            };
            let pick = |next: &mut dyn FnMut() -> u64| alphabet[(next() % 6) as usize];
            let needle: Vec<u8> = (0..next() % 5).map(|_| pick(&mut next)).collect();
            let fits = |b: u8| match &elem {
                AbbrevOp::Char6 => encode_char6(b).is_some(),
                AbbrevOp::Fixed(w) => u64::from(b) >> w == 0,
                _ => unreachable!(),
            };
            let chars: Vec<u8> = (0..next() % 40)
                .map(|_| pick(&mut next))
                .map(|b| if fits(b) { b } else { alphabet[0] })
                .collect();
            let mut w = BitWriter::new();
            w.emit(0, (round % 8) as u32);
            for op in &ops[..ops.len() - 1] {
                match *op {
                    AbbrevOp::Fixed(width) => w.emit(next() % (1 << width), width),
                    AbbrevOp::Vbr(width) => w.emit_vbr(next() % 5000, width),
                    _ => {}
                }
            }
            w.emit_vbr(chars.len() as u64, 6);
            for &c in &chars {
                match &elem {
                    AbbrevOp::Char6 => w.emit(encode_char6(c).unwrap(), 6),
                    AbbrevOp::Fixed(width) => w.emit(u64::from(c), *width),
                    _ => unreachable!(),
                }
            }
            let padded = next() % 4 != 0;
            if padded {
                w.emit(next(), 64);
            }
            let data = w.into_bytes();
            let mut cursor = BitCursor::new(&data, 0, data.len());
            cursor.seek(round as u64 % 8).unwrap();
            let mut read = cursor.clone();
            let mut values = Vec::new();
            abbrev.read_code(&mut read).unwrap();
            abbrev.read_operands(&mut read, &mut values).unwrap();
            assert_eq!(
                &values[values.len() - chars.len()..],
                &chars.iter().map(|&c| u64::from(c)).collect::<Vec<_>>()[..]
            );
            let probe = &needle[..needle.len().min(3)];
            let holds = probe.is_empty() || chars.windows(probe.len()).any(|w| w == probe);
            match abbrev.chars_lack(&cursor, &needle) {
                Some(end) => {
                    assert!(!holds, "round {round}: {chars:?} holds {probe:?}");
                    assert_eq!(end, read.position(), "round {round}");
                    stepped += 1;
                }
                None => {
                    assert!(holds || !padded, "round {round}: {chars:?} lacks {probe:?}");
                    left += 1;
                }
            }
        }
        assert!(
            stepped > 5000 && left > 5000,
            "{stepped} stepped over, {left} left"
        );
    }

    #[test]
    fn arrays_blobs_and_odd_widths_are_stepped_over_the_usual_way() {
        let with = |last| Abbrev::new(vec![AbbrevOp::Literal(1), AbbrevOp::Vbr(6), last]);
        assert!(with(AbbrevOp::Array(Box::new(AbbrevOp::Char6)))
            .scalars
            .is_none());
        assert!(with(AbbrevOp::Blob).scalars.is_none());
        assert!(with(AbbrevOp::Fixed(3)).scalars.is_some());
        // Widths a definition cannot have (it is refused when read).
        assert!(with(AbbrevOp::Vbr(0)).scalars.is_none());
        assert!(with(AbbrevOp::Vbr(33)).scalars.is_none());
        // More VBR fields than the steps hold.
        let vbrs = |n| {
            let mut ops = vec![AbbrevOp::Literal(1)];
            ops.extend((0..n).map(|_| AbbrevOp::Vbr(6)));
            Abbrev::new(ops)
        };
        assert!(vbrs(MAX_VBR_STEPS).scalars.is_some());
        assert!(vbrs(MAX_VBR_STEPS + 1).scalars.is_none());
    }
}
