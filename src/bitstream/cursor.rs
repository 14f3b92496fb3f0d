//! Reading bits: fixed-width fields, VBR, 32-bit alignment.
//!
//! Bits are taken from each byte least-significant first, and a field's
//! first bit is its least significant. Positions are absolute bit offsets in
//! the underlying buffer, so every error can say where it happened.

use crate::error::{Error, Result};

/// A mask of the low `width` bits (0..=64).
#[inline]
fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// A read position inside `data[..end/8]`, in bits.
#[derive(Clone)]
pub struct BitCursor<'a> {
    data: &'a [u8],
    base: u64,
    pos: u64,
    end: u64,
}

/// The VBR-6 value at the low bits of `bits` when it has one or two chunks:
/// (value, bits it takes).
#[inline(always)]
pub fn short_vbr6(bits: u64) -> Option<(u64, u64)> {
    let first = bits & 63;
    if first & 32 == 0 {
        return Some((first, 6));
    }
    let second = (bits >> 6) & 63;
    if second & 32 == 0 {
        return Some(((first & 31) | (second << 5), 12));
    }
    None
}

/// The little-endian 64-bit word at byte `byte` of `data`, when 8 bytes
/// are there: the one load every fast path of the readers and the writer
/// makes.
#[inline(always)]
pub fn load_le64(data: &[u8], byte: usize) -> Option<u64> {
    let bytes: [u8; 8] = data.get(byte..byte.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The continuation bit of each of the nine VBR-6 chunks a 64-bit load
/// holds from its low bit (54 bits: at least 56 are loaded).
pub(crate) const VBR6_CONTINUATION: u64 = 0o404040404040404040;

impl<'a> BitCursor<'a> {
    /// A cursor over `data[start..end]` (byte offsets), positioned at `start`.
    ///
    /// # Panics
    /// If `start > end` or `end > data.len()`.
    pub fn new(data: &'a [u8], start: usize, end: usize) -> Self {
        assert!(start <= end && end <= data.len());
        BitCursor {
            data,
            base: start as u64 * 8,
            pos: start as u64 * 8,
            end: end as u64 * 8,
        }
    }

    /// The whole underlying buffer.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Current absolute bit position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Absolute bit position of the end of readable data.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bits between the position and the end.
    pub fn bits_left(&self) -> u64 {
        self.end - self.pos
    }

    /// Moves to `bit`, which must lie within the readable range.
    ///
    /// # Errors
    /// A parse error when `bit` is past the end.
    #[inline]
    pub fn seek(&mut self, bit: u64) -> Result<()> {
        if bit > self.end {
            return Err(self.seek_error(bit));
        }
        self.pos = bit;
        Ok(())
    }

    #[cold]
    fn seek_error(&self, bit: u64) -> Error {
        Error::parse(
            self.pos,
            format!(
                "jump to bit {bit} past the end of the data (bit {})",
                self.end
            ),
        )
    }

    /// Reads a `width`-bit field (0..=64).
    ///
    /// # Errors
    /// A parse error when fewer than `width` bits are left.
    #[inline(always)]
    pub fn read(&mut self, width: u32) -> Result<u64> {
        debug_assert!(width <= 64);
        if self.bits_left() < u64::from(width) {
            return Err(self.end_of_data(width));
        }
        let byte = (self.pos / 8) as usize;
        let shift = (self.pos % 8) as u32;
        let value = match load_le64(self.data, byte) {
            Some(word) if shift + width <= 64 => (word >> shift) & mask(width),
            _ => self.read_slow(byte, shift, width),
        };
        self.pos += u64::from(width);
        Ok(value)
    }

    /// At least the next 56 bits, from the position on (bit 0), in one
    /// 64-bit load: `None` where fewer than 56 bits are left or the load
    /// would pass the end of the buffer.
    #[inline(always)]
    fn peek56(&self) -> Option<u64> {
        self.peek56_at(self.pos)
    }

    /// At least the 56 bits from bit `pos` on (bit 0) in one 64-bit load,
    /// the cursor not moving: `None` where fewer than 56 bits are left
    /// after `pos` or the load would pass the end of the buffer.
    #[inline(always)]
    pub fn peek56_at(&self, pos: u64) -> Option<u64> {
        if pos.saturating_add(56) > self.end {
            return None;
        }
        Some(load_le64(self.data, (pos / 8) as usize)? >> (pos % 8))
    }

    /// Steps over a `width`-bit field, with the error [`BitCursor::read`]
    /// gives at the end of the data.
    ///
    /// # Errors
    /// As [`BitCursor::read`].
    #[inline]
    pub fn skip(&mut self, width: u32) -> Result<()> {
        if self.bits_left() < u64::from(width) {
            return Err(self.end_of_data(width));
        }
        self.pos += u64::from(width);
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn end_of_data(&self, width: u32) -> Error {
        Error::parse(
            self.pos,
            format!(
                "unexpected end of data reading a {width}-bit field ({} bits left)",
                self.bits_left()
            ),
        )
    }

    fn read_slow(&self, mut byte: usize, mut shift: u32, width: u32) -> u64 {
        let mut value = 0u64;
        let mut got = 0u32;
        while got < width {
            let take = (8 - shift).min(width - got);
            let bits = (u64::from(self.data[byte]) >> shift) & ((1u64 << take) - 1);
            value |= bits << got;
            got += take;
            shift = 0;
            byte += 1;
        }
        value
    }

    /// Reads a variable-width integer made of `width`-bit chunks (2..=32), the
    /// top bit of each chunk saying whether another follows.
    ///
    /// # Errors
    /// A parse error at the start of the value when the data ends inside it or
    /// its value does not fit in 64 bits.
    #[inline(always)]
    pub fn read_vbr(&mut self, width: u32) -> Result<u64> {
        debug_assert!((2..=32).contains(&width));
        // Fast path: every chunk of the value within one 64-bit load (56
        // usable bits after the sub-byte shift). At most 56 payload bits
        // can come out of it, so it cannot overflow.
        if let Some(word) = self.peek56() {
            let hi = 1u64 << (width - 1);
            let chunk_mask = (1u64 << width) - 1;
            let mut value = 0u64;
            let mut i = 0;
            while (i + 1) * width <= 56 {
                let chunk = (word >> (i * width)) & chunk_mask;
                value |= (chunk & (hi - 1)) << (i * (width - 1));
                if chunk & hi == 0 {
                    self.pos += u64::from((i + 1) * width);
                    return Ok(value);
                }
                i += 1;
            }
        }
        let chunk = self.read(width)?;
        if chunk & (1u64 << (width - 1)) == 0 {
            return Ok(chunk);
        }
        self.read_vbr_rest(chunk, width)
    }

    /// Reads the fields of a block header that follow its ENTER_SUBBLOCK
    /// id: the block id (VBR-8), the abbreviation width (VBR-4), then, at
    /// the next 32-bit boundary, the body's length in words (32 bits); as
    /// those four reads would, with the same errors. An id below 128 and a
    /// width below 8 (all LLVM writes) are read from one load, and the
    /// length from another.
    ///
    /// # Errors
    /// As [`BitCursor::read_vbr`], [`BitCursor::align32`] and
    /// [`BitCursor::read`].
    #[inline]
    pub fn read_block_fields(&mut self) -> Result<(u64, u64, u64)> {
        if let Some(word) = self.peek56() {
            let (id, width) = (word & 0xff, (word >> 8) & 0xf);
            if id & 0x80 == 0 && width & 0x8 == 0 {
                let aligned = self.base + ((self.pos + 12 - self.base + 31) & !31);
                if let Some(len) = self.peek56_at(aligned) {
                    self.pos = aligned + 32;
                    return Ok((id, width, len & 0xffff_ffff));
                }
            }
        }
        let id = self.read_vbr(8)?;
        let width = self.read_vbr(4)?;
        self.align32()?;
        Ok((id, width, self.read(32)?))
    }

    /// Steps over `n` VBR-6 values, as `n` calls of `read_vbr(6)` would,
    /// with the same errors at the same positions. The chunks that end a
    /// value (continuation bit clear) are found nine at a time in one
    /// 64-bit load; a value of more than nine chunks, or one near the end
    /// of the data, is read the usual way.
    pub fn skip_vbr6(&mut self, mut n: u64) -> Result<()> {
        while n > 0 {
            if let Some(word) = self.peek56() {
                let all = !word & VBR6_CONTINUATION;
                // The ends one by one, the k-th lowest in `ends`, until the
                // n-th (no count of them all: without a popcount
                // instruction that costs more than the few steps).
                let (mut ends, mut k) = (all, 1);
                while k < n && ends != 0 {
                    ends &= ends - 1;
                    k += 1;
                }
                if ends != 0 {
                    self.pos += u64::from(ends.trailing_zeros()) + 1;
                    return Ok(());
                }
                // Fewer than n end in the load: k - 1 of them.
                if all != 0 {
                    self.pos += u64::from(64 - all.leading_zeros());
                    n -= k - 1;
                    continue;
                }
            }
            self.read_vbr(6)?;
            n -= 1;
        }
        Ok(())
    }

    /// Reads `n` VBR-6 values into `out`, as `n` calls of `read_vbr(6)`
    /// would, with the same errors at the same positions. Values of one
    /// chunk (below 32: most operands) come out of one 64-bit load up to
    /// nine at a time, and a longer one from the same load when it ends
    /// there; a value of more than nine chunks, or one near the end of the
    /// data, is read the usual way.
    ///
    /// # Errors
    /// As [`BitCursor::read_vbr`].
    #[inline]
    pub fn read_vbr6_into(&mut self, n: u64, out: &mut Vec<u64>) -> Result<()> {
        let mut left = n;
        while left > 0 {
            if let Some(word) = self.peek56() {
                // Chunks before the first with its continuation bit set.
                let whole = u64::from((word & VBR6_CONTINUATION).trailing_zeros() / 6);
                let k = whole.min(9).min(left);
                if k > 0 {
                    // (One capacity check for the lot, not one a value.)
                    out.extend((0..k).map(|i| (word >> (6 * i)) & 0x1f));
                    self.pos += 6 * k;
                    left -= k;
                    continue;
                }
                // A longer value, ending at the first chunk with its
                // continuation bit clear.
                let ends = !word & VBR6_CONTINUATION;
                if ends != 0 {
                    let chunks = u64::from(ends.trailing_zeros()) / 6 + 1;
                    let value =
                        (0..chunks).fold(0, |v, i| v | ((word >> (6 * i)) & 0x1f) << (5 * i));
                    out.push(value);
                    self.pos += 6 * chunks;
                    left -= 1;
                    continue;
                }
            }
            out.push(self.read_vbr(6)?);
            left -= 1;
        }
        Ok(())
    }

    /// Reads `n` fields of `width` bits (1..=32) into `out`, each as `f`
    /// maps it, as `n` calls of `read(width)` would, with the same error at
    /// the same position. As many fields as fit in 56 bits come out of one
    /// 64-bit load, added to `out` at once.
    #[inline]
    pub fn read_fixed_run(
        &mut self,
        n: u64,
        width: u32,
        out: &mut Vec<u64>,
        f: impl Fn(u64) -> u64,
    ) -> Result<()> {
        debug_assert!((1..=32).contains(&width));
        let per_load = u64::from(56 / width);
        let field_mask = mask(width);
        let mut left = n;
        while left > 0 {
            let take = left.min(per_load);
            let bits = take * u64::from(width);
            match load_le64(self.data, (self.pos / 8) as usize) {
                Some(word) if self.pos + bits <= self.end => {
                    let word = word >> (self.pos % 8);
                    let w = u64::from(width);
                    out.extend((0..take).map(|i| f((word >> (i * w)) & field_mask)));
                    self.pos += bits;
                    left -= take;
                }
                _ => {
                    out.push(f(self.read(width)?));
                    left -= 1;
                }
            }
        }
        Ok(())
    }

    /// The chunks after the first of a multi-chunk VBR value.
    #[inline(never)]
    fn read_vbr_rest(&mut self, first: u64, width: u32) -> Result<u64> {
        let start = self.pos - u64::from(width);
        let hi = 1u64 << (width - 1);
        let mut chunk = first;
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let payload = chunk & (hi - 1);
            if shift >= 64 || (shift > 0 && payload >> (64 - shift) != 0) {
                return Err(Error::parse(
                    start,
                    "variable-width integer does not fit in 64 bits",
                ));
            }
            value |= payload << shift;
            if chunk & hi == 0 {
                return Ok(value);
            }
            shift += width - 1;
            chunk = self.read(width).map_err(|_| {
                Error::parse(
                    start,
                    "unexpected end of data inside a variable-width integer",
                )
            })?;
        }
    }

    /// Bit position where the stream starts (alignment is relative to it).
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Skips to the next multiple of 32 bits, counted from the stream start.
    ///
    /// # Errors
    /// A parse error when that lies past the end.
    pub fn align32(&mut self) -> Result<()> {
        let aligned = self.base + ((self.pos - self.base + 31) & !31);
        if aligned > self.end {
            return Err(Error::parse(
                self.pos,
                "unexpected end of data at 32-bit alignment",
            ));
        }
        self.pos = aligned;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    #[test]
    fn fixed_fields_lsb_first() {
        let data = [0b1010_1101u8, 0xff, 0x00, 0x12];
        let mut c = BitCursor::new(&data, 0, 4);
        assert_eq!(c.read(3).unwrap(), 0b101);
        assert_eq!(c.read(5).unwrap(), 0b10101);
        assert_eq!(c.read(12).unwrap(), 0x0ff);
        assert_eq!(c.position(), 20);
        assert_eq!(c.read(12).unwrap(), 0x120);
        assert!(c.read(1).is_err());
    }

    #[test]
    fn fast_and_slow_paths_agree() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        for width in 1..=64 {
            for start in 0..24u64 {
                let mut fast = BitCursor::new(&data, 0, data.len());
                fast.seek(start).unwrap();
                let mut slow_data = data.clone();
                slow_data.truncate((start + u64::from(width)).div_ceil(8) as usize);
                let mut slow = BitCursor::new(&slow_data, 0, slow_data.len());
                slow.seek(start).unwrap();
                assert_eq!(
                    fast.read(width).unwrap(),
                    slow.read(width).unwrap(),
                    "{width} {start}"
                );
            }
        }
    }

    #[test]
    fn vbr_values() {
        // 6-bit VBR of 100: 100 = 0b1100100 -> chunks (100 & 31)|32 = 36, 100>>5 = 3.
        let data = [36u8 | (3 << 6), 0, 0, 0];
        let mut c = BitCursor::new(&data, 0, 4);
        assert_eq!(c.read_vbr(6).unwrap(), 100);
        assert_eq!(c.position(), 12);
    }

    /// The one-load fast path and the chunk-by-chunk path read the same
    /// values, at every alignment, near the end of the data and with values
    /// from one chunk to the most a 64-bit value takes.
    #[test]
    fn vbr_fast_and_chunked_paths_agree() {
        use crate::bitstream::writer::BitWriter;
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        for width in 2..=32u32 {
            let mut w = BitWriter::new();
            let mut values = Vec::new();
            for i in 0..400 {
                let bits = next() % 65;
                let v = if bits == 64 {
                    next()
                } else {
                    next() & ((1u64 << bits) - 1)
                };
                values.push(v);
                w.emit_vbr(v, width);
                w.emit(u64::from(i % 7 != 0) * (i % 2), (i % 7) as u32); // shift the alignment
            }
            let data = w.into_bytes();
            // Read whole (fast path) and through a cursor whose end leaves
            // less than 56 bits after each value (chunked path).
            let mut c = BitCursor::new(&data, 0, data.len());
            for (i, v) in values.iter().enumerate() {
                let at = c.position();
                assert_eq!(c.read_vbr(width).unwrap(), *v, "width {width} value {i}");
                let after = c.position();
                let mut slow = BitCursor::new(&data, 0, data.len());
                slow.pos = at;
                slow.end = after.div_ceil(8) * 8;
                assert_eq!(
                    slow.read_vbr(width).unwrap(),
                    *v,
                    "width {width} value {i} near the end"
                );
                assert_eq!(slow.position(), after);
                c.read((i % 7) as u32).unwrap();
            }
        }
    }

    /// A block header's fields read at once are those the four reads give,
    /// at every alignment, with the data ending anywhere (or errors where
    /// they fail), for small and large ids and widths.
    #[test]
    fn block_fields_read_at_once_agree_with_four_reads() {
        use crate::bitstream::writer::BitWriter;
        let mut next = xorshift(0x51_7cc1_b727_220au64);
        for round in 0..2000u64 {
            let mut w = BitWriter::new();
            let start = round % 32;
            w.emit(next() & ((1 << start) - 1), start as u32);
            let id = if round % 5 == 0 {
                next() % 100_000
            } else {
                next() % 128
            };
            let width = if round % 7 == 0 {
                next() % 40
            } else {
                next() % 8
            };
            w.emit_vbr(id, 8);
            w.emit_vbr(width, 4);
            w.align32();
            w.emit(next() & 0xffff_ffff, 32);
            w.emit(next(), 64);
            let data = w.into_bytes();
            for end in [
                data.len(),
                data.len() - 8,
                data.len() - 11,
                (start as usize + 20) / 8,
            ] {
                let end = end.min(data.len());
                let mut at_once = BitCursor::new(&data, 0, end);
                at_once.pos = start;
                let mut four = at_once.clone();
                let fields = at_once.read_block_fields();
                let reads = (|| -> Result<(u64, u64, u64)> {
                    let id = four.read_vbr(8)?;
                    let width = four.read_vbr(4)?;
                    four.align32()?;
                    Ok((id, width, four.read(32)?))
                })();
                match (fields, reads) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b, "round {round} end {end}");
                        assert_eq!(at_once.position(), four.position(), "round {round}");
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => panic!("round {round} end {end}: {a:?} against {b:?}"),
                }
            }
        }
    }

    /// Skipping VBR-6 values in windows ends where reading them one by one
    /// ends, or fails where it fails: for runs of values of every length
    /// (short values, values of more chunks than a window holds, values
    /// too long for 64 bits), from every alignment, with the data ending
    /// anywhere.
    #[test]
    fn skipping_vbr6_values_agrees_with_reading_them() {
        use crate::bitstream::writer::BitWriter;
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        for round in 0..300 {
            let mut w = BitWriter::new();
            w.emit(0, round % 8);
            let count = 1 + next() % 40;
            for _ in 0..count {
                let bits = match next() % 8 {
                    0..=4 => next() % 6,
                    5 | 6 => next() % 50,
                    _ => 64,
                };
                w.emit_vbr(next() & ((1u128 << bits) - 1) as u64, 6);
            }
            if round % 5 == 0 {
                // A value of more than 64 bits' worth of chunks.
                for _ in 0..14 {
                    w.emit(0b111111, 6);
                }
                w.emit(1, 6);
            }
            let data = w.into_bytes();
            for end in [data.len(), data.len() * 3 / 4, data.len() / 2] {
                for n in [1, 2, 9, 10, count, count + 1, count + 20] {
                    let mut read = BitCursor::new(&data, 0, end);
                    if read.seek(u64::from(round % 8)).is_err() {
                        continue;
                    }
                    let mut skip = read.clone();
                    let by_reading = (0..n).try_for_each(|_| read.read_vbr(6).map(drop));
                    let by_skipping = skip.skip_vbr6(n);
                    match (by_reading, by_skipping) {
                        (Ok(()), Ok(())) => assert_eq!(read.position(), skip.position()),
                        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                        (a, b) => panic!("round {round} n {n} end {end}: {a:?} vs {b:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn fixed_runs_agree_with_reading_fields_one_by_one() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let data: Vec<u8> = (0..64).map(|_| next() as u8).collect();
        for round in 0..2000u64 {
            let width = 1 + (next() % 32) as u32;
            let start = next() % 64;
            let n = next() % 80;
            // Ends that leave the data's tail, and the run's end, unloadable.
            let end =
                [data.len(), data.len() - 3, 20 + (next() % 40) as usize][(round % 3) as usize];
            let mut one = BitCursor::new(&data, 0, end);
            if one.seek(start).is_err() {
                continue;
            }
            agree_with_one_by_one(
                one,
                n,
                |c| c.read(width),
                |c, out| c.read_fixed_run(n, width, out, |v| v),
                &format!("width {width} start {start} n {n} end {end}"),
            );
        }
    }

    /// Reads `n` values from `from` one at a time with `one` and all at
    /// once with `run` (from a copy), and checks that both give the same
    /// values and end position, or fail with the same error after the
    /// same values.
    fn agree_with_one_by_one(
        from: BitCursor<'_>,
        n: u64,
        one: impl Fn(&mut BitCursor<'_>) -> Result<u64>,
        run: impl FnOnce(&mut BitCursor<'_>, &mut Vec<u64>) -> Result<()>,
        what: &str,
    ) {
        let (mut by_one, mut by_run) = (from.clone(), from);
        let (mut one_values, mut run_values) = (Vec::new(), Vec::new());
        let one_result = (0..n).try_for_each(|_| one(&mut by_one).map(|v| one_values.push(v)));
        let run_result = run(&mut by_run, &mut run_values);
        match (one_result, run_result) {
            (Ok(()), Ok(())) => {
                assert_eq!(one_values, run_values, "{what}");
                assert_eq!(by_one.position(), by_run.position(), "{what}");
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "{what}");
                assert_eq!(one_values, run_values, "{what}");
            }
            (a, b) => panic!("{what}: {a:?} vs {b:?}"),
        }
    }

    #[test]
    fn vbr6_runs_agree_with_reading_values_one_by_one() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000u64 {
            // Small values mostly, some of several chunks, some too long.
            let mut w = crate::bitstream::writer::BitWriter::new();
            for _ in 0..40 {
                let v = match next() % 10 {
                    0..=6 => next() % 32,
                    7 | 8 => next() % (1 << (next() % 40)),
                    _ => next(),
                };
                w.emit_vbr(v, 6);
            }
            let mut data = w.into_bytes();
            if round % 7 == 0 {
                data.extend([0xff; 12]); // a value that overflows
            }
            let start = next() % 64;
            let n = next() % 60;
            let end = [
                data.len(),
                data.len().saturating_sub(3),
                (next() as usize) % data.len(),
            ][(round % 3) as usize];
            let mut one = BitCursor::new(&data, 0, end);
            if one.seek(start).is_err() {
                continue;
            }
            agree_with_one_by_one(
                one,
                n,
                |c| c.read_vbr(6),
                |c, out| c.read_vbr6_into(n, out),
                &format!("start {start} n {n} end {end}"),
            );
        }
    }

    #[test]
    fn vbr_overflow_and_truncation_are_errors() {
        let data = [0xffu8; 16];
        let mut c = BitCursor::new(&data, 0, 16);
        assert!(c.read_vbr(6).is_err());
        let data = [0xffu8; 1];
        let mut c = BitCursor::new(&data, 0, 1);
        let e = c.read_vbr(4).unwrap_err();
        assert!(
            e.to_string().contains("inside a variable-width integer"),
            "{e}"
        );
    }

    #[test]
    fn align() {
        let data = [0u8; 8];
        let mut c = BitCursor::new(&data, 0, 8);
        c.read(1).unwrap();
        c.align32().unwrap();
        assert_eq!(c.position(), 32);
        c.align32().unwrap();
        assert_eq!(c.position(), 32);
        c.read(33).unwrap_err();
        c.read(32).unwrap();
        c.align32().unwrap();
        assert_eq!(c.position(), 64);
    }
}
