//! Walking a bitstream block by block.
//!
//! [`Reader`] yields the entries of the current block one at a time. A
//! sub-block is announced with its header and can be entered or skipped by
//! its length without reading it. BLOCKINFO is read as soon as it is met,
//! wherever it is nested, because later blocks depend on it. Every record
//! carries its bit range and the abbreviation id it was read with, so a
//! writer can re-emit it faithfully.

use std::ops::Range;
use std::rc::Rc;

use super::abbrev::{Abbrev, AbbrevOp};
use super::cursor::{short_vbr6, BitCursor, VBR6_CONTINUATION};
use crate::error::{Error, Result};

/// Abbreviation id: end of the current block.
pub const END_BLOCK: u32 = 0;
/// Abbreviation id: a sub-block follows.
pub const ENTER_SUBBLOCK: u32 = 1;
/// Abbreviation id: an abbreviation definition follows.
pub const DEFINE_ABBREV: u32 = 2;
/// Abbreviation id: an unabbreviated record follows.
pub const UNABBREV_RECORD: u32 = 3;
/// Block id of BLOCKINFO.
pub const BLOCKINFO_BLOCK_ID: u32 = 0;
/// Abbreviation width outside any block.
pub const TOP_LEVEL_ABBREV_WIDTH: u32 = 2;
/// Deepest block nesting accepted (LLVM writes at most 4 or 5).
pub const MAX_DEPTH: usize = 64;

const BLOCKINFO_CODE_SETBID: u32 = 1;

/// The header of a sub-block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub id: u32,
    /// Abbreviation id width inside the block.
    pub abbrev_width: u32,
    /// Bit position of the ENTER_SUBBLOCK abbreviation id.
    pub start_bit: u64,
    /// Bit position of the first entry of the body (32-bit aligned).
    pub body_start_bit: u64,
    /// Body length in 32-bit words, as the header says.
    pub len_words: u64,
    /// Bit position just past the block (`body_start_bit + 32 * len_words`).
    pub end_bit: u64,
}

/// A data record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub code: u32,
    /// The abbreviation id it was read with ([`UNABBREV_RECORD`] if none).
    pub abbrev_id: u32,
    /// The operands after the code, array elements included, blob excluded.
    pub ops: Vec<u64>,
    /// Byte range of the blob operand in the underlying buffer.
    pub blob: Option<Range<usize>>,
    pub start_bit: u64,
    pub end_bit: u64,
}

/// Where a Fixed or VBR operand of a record stands in the data, and how
/// it is encoded: enough to write a new value in its place
/// ([`BitWriter::emit_for`](super::writer::BitWriter::emit_for))
/// without reading the record again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperandSpan {
    pub from: u64,
    pub to: u64,
    /// A [`AbbrevOp::Fixed`] or [`AbbrevOp::Vbr`].
    pub encoding: AbbrevOp,
}

impl OperandSpan {
    /// Whether the encoding can hold `v` (a VBR field holds any value).
    pub fn holds(&self, v: u64) -> bool {
        match self.encoding {
            AbbrevOp::Fixed(w) => w >= 64 || v >> w == 0,
            AbbrevOp::Vbr(_) => true,
            _ => false,
        }
    }
}

/// One entry of a block.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A sub-block starts; call [`Reader::enter`] or [`Reader::skip`].
    SubBlock(BlockHeader),
    /// A BLOCKINFO block, already read and in effect.
    BlockInfo(BlockHeader),
    /// An abbreviation definition, already in effect.
    DefineAbbrev {
        start_bit: u64,
        end_bit: u64,
        abbrev: Rc<Abbrev>,
    },
    Record(Record),
    /// The current block ended; the reader is back in its parent.
    EndBlock {
        start_bit: u64,
        end_bit: u64,
    },
}

/// Abbreviations that BLOCKINFO registered, by block id. Each block
/// shares its list with the blocks of its id, which take it without
/// copying it.
#[derive(Debug, Default, Clone)]
struct BlockInfo {
    entries: Vec<(u32, Rc<[Rc<Abbrev>]>)>,
}

impl BlockInfo {
    /// The abbreviations registered for `block_id`, shared.
    fn shared(&self, block_id: u32) -> Option<&Rc<[Rc<Abbrev>]>> {
        self.entries
            .iter()
            .find(|(id, _)| *id == block_id)
            .map(|(_, v)| v)
    }

    /// The BLOCKINFO that registers these abbreviations (by block id, in
    /// the order given).
    fn from_lists(lists: Vec<(u32, Vec<Rc<Abbrev>>)>) -> BlockInfo {
        BlockInfo {
            entries: lists.into_iter().map(|(id, v)| (id, v.into())).collect(),
        }
    }
}

/// The abbreviations in effect in a block, by id less 4: those BLOCKINFO
/// registered for its id, then those the block defined.
#[derive(Debug, Clone, Copy, Default)]
pub struct Abbrevs<'a> {
    inherited: &'a [Rc<Abbrev>],
    local: &'a [Rc<Abbrev>],
}

impl<'a> Abbrevs<'a> {
    /// Abbreviation `i` (its id less 4).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a Rc<Abbrev>> {
        match self.inherited.get(i) {
            Some(a) => Some(a),
            None => self.local.get(i - self.inherited.len()),
        }
    }

    pub fn len(&self) -> usize {
        self.inherited.len() + self.local.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// In id order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Rc<Abbrev>> {
        self.inherited.iter().chain(self.local)
    }

    pub fn to_vec(&self) -> Vec<Rc<Abbrev>> {
        self.iter().cloned().collect()
    }
}

impl<'a> From<&'a [Rc<Abbrev>]> for Abbrevs<'a> {
    fn from(all: &'a [Rc<Abbrev>]) -> Self {
        Abbrevs {
            inherited: all,
            local: &[],
        }
    }
}

struct Scope {
    header: BlockHeader,
    /// What BLOCKINFO registered for the block's id when it was entered.
    inherited: Option<Rc<[Rc<Abbrev>]>>,
    /// Abbreviations defined in the block.
    abbrevs: Vec<Rc<Abbrev>>,
    /// Ordinal of this block among its parent's sub-blocks with the same id.
    ordinal: u32,
    child_counts: Vec<(u32, u32)>,
}

/// Names block ids for error messages.
pub type BlockNamer = fn(u32) -> Option<&'static str>;

/// A BLOCKINFO block read before: its abbreviation width, body bytes and
/// what they define.
struct ReadBlockInfo {
    width: u32,
    body: Vec<u8>,
    info: Rc<BlockInfo>,
}

thread_local! {
    /// The last BLOCKINFO block read on this thread.
    static LAST_BLOCKINFO: std::cell::RefCell<Option<ReadBlockInfo>> =
        const { std::cell::RefCell::new(None) };
    /// The abbreviation definitions last read on this thread, by their
    /// bits (see [`read_definition`]).
    static KNOWN_DEFINITIONS: std::cell::RefCell<Vec<KnownDefinition>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An abbreviation definition read before: its bits (at most 56), and
/// what they define.
struct KnownDefinition {
    bits: u64,
    len: u64,
    abbrev: Rc<Abbrev>,
}

/// How many definitions [`KNOWN_DEFINITIONS`] keeps (LLVM's modules define
/// a few each, outside BLOCKINFO).
const KNOWN_DEFINITIONS_KEPT: usize = 16;

/// Reads the DEFINE_ABBREV body at the cursor (after its id), as
/// [`Abbrev::read_definition`] does. A definition is read from its own
/// bits alone (it says where it ends), so the same bits define the same
/// abbreviation: one whose bits are those of a definition read lately on
/// this thread (each file is read more than once, and files from one
/// producer define the same ones) is that definition, shared, not read
/// and allocated again.
fn read_definition(cursor: &mut BitCursor<'_>) -> Result<Rc<Abbrev>> {
    let start = cursor.position();
    let window = cursor.peek56_at(start);
    if let Some(window) = window {
        let known = KNOWN_DEFINITIONS.with(|known| {
            (known.borrow().iter())
                .find(|d| window & ((1 << d.len) - 1) == d.bits)
                .map(|d| (d.len, Rc::clone(&d.abbrev)))
        });
        if let Some((len, abbrev)) = known {
            cursor.seek(start + len)?;
            return Ok(abbrev);
        }
    }
    let abbrev = Rc::new(Abbrev::read_definition(cursor)?);
    let len = cursor.position() - start;
    if let Some(window) = window.filter(|_| len <= 56) {
        KNOWN_DEFINITIONS.with(|known| {
            let mut known = known.borrow_mut();
            if known.len() == KNOWN_DEFINITIONS_KEPT {
                known.remove(0);
            }
            known.push(KnownDefinition {
                bits: window & ((1 << len) - 1),
                len,
                abbrev: Rc::clone(&abbrev),
            });
        });
    }
    Ok(abbrev)
}

/// A streaming reader over one bitstream.
pub struct Reader<'a> {
    cursor: BitCursor<'a>,
    blockinfo: Rc<BlockInfo>,
    scopes: Vec<Scope>,
    top_counts: Vec<(u32, u32)>,
    /// A sub-block announced but not yet entered or skipped, with its ordinal.
    pending: Option<(BlockHeader, u32)>,
    namer: BlockNamer,
    /// Which records keep their operands (see [`Reader::set_operands`]).
    operands: Operands,
    /// An operand buffer handed back by [`Reader::recycle`].
    spare: Vec<u64>,
    /// Scopes of blocks that ended, whose buffers the next blocks reuse.
    spare_scopes: Vec<Scope>,
}

/// Which records [`Reader::next_entry`] returns with their operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    /// Every record (the default).
    All,
    /// Records with one of these codes; the others come back with their
    /// code and bit range but no operands (they are still read and checked
    /// in full).
    Of(&'static [u32]),
}

impl Operands {
    fn keeps(self, code: u64) -> bool {
        match self {
            Operands::All => true,
            Operands::Of(codes) => codes.iter().any(|&c| u64::from(c) == code),
        }
    }
}

/// Reads an unabbreviated record's code and operand count, checking that
/// the operands can fit in what is left.
#[inline(always)]
fn unabbreviated_header(cursor: &mut BitCursor<'_>, start: u64) -> Result<(u64, u64)> {
    let code = cursor.read_vbr(6)?;
    let n = cursor.read_vbr(6)?;
    if n.saturating_mul(6) > cursor.bits_left() {
        return Err(Error::parse(
            start,
            format!("record with {n} operands runs past the end of the data"),
        ));
    }
    Ok((code, n))
}

/// The operands of record `r` of `data`, read anew from its bits: for a
/// record stepped over without them (see [`Operands`]). `width` is the
/// abbreviation id width of its block and `abbrev` the abbreviation it was
/// read with, `None` if it is unabbreviated.
///
/// # Errors
/// Parse errors for truncated data.
pub fn record_operands(
    data: &[u8],
    width: u32,
    abbrev: Option<&Abbrev>,
    r: &Record,
) -> Result<Vec<u64>> {
    let mut cursor = BitCursor::new(data, 0, data.len());
    cursor.seek(r.start_bit + u64::from(width))?;
    let mut ops = Vec::new();
    match abbrev {
        None => {
            let (_, n) = unabbreviated_header(&mut cursor, r.start_bit)?;
            ops.reserve(n as usize);
            for _ in 0..n {
                ops.push(cursor.read_vbr(6)?);
            }
        }
        Some(a) => {
            a.read_code(&mut cursor)?;
            a.read_operands(&mut cursor, &mut ops)?;
        }
    }
    Ok(ops)
}

impl Scope {
    fn abbrevs(&self) -> Abbrevs<'_> {
        Abbrevs {
            inherited: self.inherited.as_deref().unwrap_or(&[]),
            local: &self.abbrevs,
        }
    }
}

/// The abbreviation a record's id names.
fn abbreviation<'a>(abbrevs: Abbrevs<'a>, start: u64, id: u32) -> Result<&'a Abbrev> {
    abbrevs
        .get((id - 4) as usize)
        .map(|a| a.as_ref())
        .ok_or_else(|| {
            Error::parse(
                start,
                format!("unknown abbreviation id {id} ({} defined)", abbrevs.len()),
            )
        })
}

/// Steps over the record at `start` the quick way where it can: an
/// unabbreviated record whose code and operand count are one or two
/// VBR chunks each, or one whose abbreviation [`Abbrev::step_record`]
/// handles. Gives the record's code; `None`, with the cursor unmoved,
/// for anything else (other entries, longer headers, the last bits of
/// the data), which the caller reads the usual way. Errors are those
/// the usual way gives.
#[inline]
fn step_quickly<'a>(
    cursor: &mut BitCursor<'_>,
    abbrevs: impl FnOnce() -> Abbrevs<'a>,
    start: u64,
    width: u32,
) -> Result<Option<u64>> {
    let Some(word) = cursor.peek56_at(start) else {
        return Ok(None);
    };
    // Ids are at most 32 bits wide, which leaves 24 bits of the window.
    let id = (word & ((1u64 << width) - 1)) as u32;
    if id == UNABBREV_RECORD {
        // Code and count, of one or two VBR-6 chunks each (24 bits at
        // most, which the window holds past any id).
        let header = word >> width;
        let Some((code, code_bits)) = short_vbr6(header) else {
            return Ok(None);
        };
        let Some((n, count_bits)) = short_vbr6(header >> code_bits) else {
            return Ok(None);
        };
        let header_bits = u64::from(width) + code_bits + count_bits;
        let after = start + header_bits;
        if n * 6 > cursor.end() - after {
            return Ok(None);
        }
        // The operands that end in the window (most instructions have all
        // theirs there) are stepped over at once: each ends at a chunk
        // whose continuation bit is clear.
        let whole_chunks = (56 - header_bits) / 6;
        let window = VBR6_CONTINUATION & ((1u64 << (whole_chunks * 6)) - 1);
        let all = !(word >> header_bits) & window;
        if n == 0 {
            cursor.seek(after)?;
            return Ok(Some(code));
        }
        // The ends one by one, the k-th lowest in `ends`, until the n-th
        // (no count of them all: without a popcount instruction that
        // costs more than the few steps).
        let (mut ends, mut k) = (all, 1);
        while k < n && ends != 0 {
            ends &= ends - 1;
            k += 1;
        }
        if ends != 0 {
            cursor.seek(after + u64::from(ends.trailing_zeros()) + 1)?;
            return Ok(Some(code));
        }
        // Fewer than n end in the window: k - 1 of them.
        let bits = if all == 0 {
            0
        } else {
            64 - u64::from(all.leading_zeros())
        };
        cursor.seek(after + bits)?;
        cursor.skip_vbr6(n - (k - 1))?;
        return Ok(Some(code));
    }
    if id < 4 {
        return Ok(None);
    }
    let Some(abbrev) = abbrevs().get((id - 4) as usize) else {
        return Ok(None);
    };
    let after_id = start + u64::from(width);
    if let Some((code, bits)) = abbrev.step_in_window(word >> width, 56 - u64::from(width)) {
        cursor.seek(after_id + bits)?;
        return Ok(Some(u64::from(code)));
    }
    cursor.seek(after_id)?;
    if let Some(code) = abbrev.step_record(cursor) {
        return Ok(Some(u64::from(code)));
    }
    cursor.seek(start)?;
    Ok(None)
}

/// Steps over the record at `start` whose abbreviation id `id` was just
/// read, checking it as reading it does; gives its code.
fn step_record(
    cursor: &mut BitCursor<'_>,
    abbrevs: Abbrevs<'_>,
    start: u64,
    id: u32,
) -> Result<u32> {
    let code = if id == UNABBREV_RECORD {
        let (code, n) = unabbreviated_header(cursor, start)?;
        cursor.skip_vbr6(n)?;
        code
    } else {
        let abbrev = abbreviation(abbrevs, start, id)?;
        let code = abbrev.read_code(cursor)?;
        abbrev.skip_operands(cursor)?;
        code
    };
    record_code(start, code)
}

/// Reads the record at `start` whose abbreviation id `abbrev_id` was just
/// read: its operands into `spare` (taken) if `keep` says so for its code,
/// else stepped over.
fn read_record<'a>(
    cursor: &mut BitCursor<'_>,
    abbrevs: impl FnOnce() -> Abbrevs<'a>,
    start: u64,
    abbrev_id: u32,
    keep: Operands,
    spare: &mut Vec<u64>,
) -> Result<Record> {
    // Records whose operands are stepped over leave the spare buffer
    // for the next record that keeps them.
    let mut ops = Vec::new();
    let (code, blob) = if abbrev_id == UNABBREV_RECORD {
        let (code, n) = unabbreviated_header(cursor, start)?;
        if keep.keeps(code) {
            ops = std::mem::take(spare);
            ops.reserve(n as usize);
            cursor.read_vbr6_into(n, &mut ops)?;
        } else {
            cursor.skip_vbr6(n)?;
        }
        (code, None)
    } else {
        let abbrev = abbreviation(abbrevs(), start, abbrev_id)?;
        let code = abbrev.read_code(cursor)?;
        let blob = if keep.keeps(code) {
            ops = std::mem::take(spare);
            abbrev.read_operands(cursor, &mut ops)?
        } else {
            abbrev.skip_operands(cursor)?
        };
        (code, blob)
    };
    Ok(Record {
        code: record_code(start, code)?,
        abbrev_id,
        ops,
        blob,
        start_bit: start,
        end_bit: cursor.position(),
    })
}

/// Reads the header of a block whose ENTER_SUBBLOCK id at `start` was
/// just read, checking it fits in the data; `namer` names it in errors.
fn read_block_header(
    cursor: &mut BitCursor<'_>,
    start: u64,
    namer: BlockNamer,
) -> Result<BlockHeader> {
    let (id, width, len_words) = cursor.read_block_fields()?;
    let body_start_bit = cursor.position();
    if id > u64::from(u32::MAX) {
        return Err(Error::parse(start, format!("block id {id} out of range")));
    }
    if width == 0 || width > 32 {
        return Err(Error::parse(
            start,
            format!("block {id} has abbreviation width {width}"),
        ));
    }
    let end_bit = body_start_bit + len_words * 32;
    if end_bit > cursor.end() {
        return Err(Error::parse(
            start,
            format!(
                "{} of {len_words} words runs past the end of the data ({} bits left)",
                block_label(namer, id),
                cursor.bits_left()
            ),
        ));
    }
    Ok(BlockHeader {
        id: id as u32,
        abbrev_width: width as u32,
        start_bit: start,
        body_start_bit,
        len_words,
        end_bit,
    })
}

/// The top-level blocks of the bitstream at `stream` (byte offsets from its
/// magic number, in data that starts with `head`) as their headers alone
/// tell: each block's id and the byte range of its body, in order, each
/// block stepped over by its length. Stops at a header `head` does not
/// hold whole, at an entry that is not a block, and at a block that runs
/// past the stream's end. (For a reader of a few top-level blocks that
/// need not read the others to find them.)
pub fn top_level_blocks(
    head: &[u8],
    stream: Range<usize>,
) -> impl Iterator<Item = (u32, Range<usize>)> + '_ {
    let mut at = stream.start + 4;
    std::iter::from_fn(move || {
        let end = head.len().min(stream.end);
        if at >= end {
            return None;
        }
        // (Top-level entries are 32-bit aligned from the stream's start,
        // as `at` is: the cursor aligns from there.)
        let mut c = BitCursor::new(head, at, end);
        if c.read(2).ok()? != u64::from(ENTER_SUBBLOCK) {
            return None;
        }
        let (id, _, words) = c.read_block_fields().ok()?;
        let body = (c.position() / 8) as usize;
        let body_end = body.checked_add(usize::try_from(words).ok()?.checked_mul(4)?)?;
        if body_end > stream.end {
            return None;
        }
        at = body_end;
        Some((u32::try_from(id).ok()?, body..body_end))
    })
}

/// A block id's name, or `block N`.
fn block_label(namer: BlockNamer, id: u64) -> String {
    match u32::try_from(id).ok().and_then(namer) {
        Some(name) => name.to_string(),
        None => format!("block {id}"),
    }
}

/// A sub-block [`Reader::skim`] looks into, and the codes of the records
/// in it that it reads.
#[derive(Debug, Clone, Copy)]
pub struct Watch<'w> {
    /// The sub-block's id.
    pub block: u32,
    /// The codes of the records read in it; the others are stepped over.
    pub codes: &'w [u32],
    /// When set, a record of these codes whose abbreviation ends with an
    /// array of characters is read only if they may hold this string
    /// ([`Abbrev::chars_lack`]): for a reader that wants only the names
    /// containing it. The others are stepped over.
    pub needle: Option<&'w [u8]>,
}

/// The code of the record at `start` where it can be told without reading
/// the record: an abbreviation's literal, or an unabbreviated record's code
/// of one or two chunks.
#[inline]
fn code_at(cursor: &BitCursor<'_>, abbrevs: Abbrevs<'_>, start: u64, width: u32) -> Option<u32> {
    let word = cursor.peek56_at(start)?;
    match (word & ((1u64 << width) - 1)) as u32 {
        UNABBREV_RECORD => short_vbr6(word >> width).map(|(code, _)| code as u32),
        id if id >= 4 => abbrevs.get((id - 4) as usize)?.literal_code(),
        _ => None,
    }
}

/// The block currently stepped through by [`skim`].
#[derive(Clone, Copy)]
struct Skimmed<'b, 'w> {
    id: u32,
    width: u32,
    end: u64,
    abbrevs: Abbrevs<'b>,
    codes: &'w [u32],
    needle: Option<&'w [u8]>,
}

/// Reads the record at `start` (the cursor there) in `block`, its
/// operands kept, and hands it to `found`, unless its characters cannot
/// hold the block's needle (it is then stepped over): `None` where it
/// cannot be read or `found` says to stop.
fn hand_over(
    cursor: &mut BitCursor<'_>,
    block: &Skimmed<'_, '_>,
    start: u64,
    spare: &mut Vec<u64>,
    found: &mut dyn FnMut(u32, &Record) -> bool,
) -> Option<()> {
    let id = cursor.read(block.width).ok()? as u32;
    if let Some(needle) = block.needle.filter(|_| id >= 4) {
        let lacking =
            (block.abbrevs.get((id - 4) as usize)).and_then(|a| a.chars_lack(cursor, needle));
        if let Some(end) = lacking {
            // (A record past its block's end is caught at the next step.)
            return cursor.seek(end).ok();
        }
    }
    let r = read_record(cursor, || block.abbrevs, start, id, Operands::All, spare).ok()?;
    let keep_going = found(block.id, &r);
    *spare = r.ops;
    spare.clear();
    keep_going.then_some(())
}

/// [`Reader::skim`] of block `h`, the cursor at its body: `None` where the
/// quick way does not apply (the cursor is then anywhere).
fn skim<'b>(
    cursor: &mut BitCursor<'_>,
    info: &'b BlockInfo,
    h: &BlockHeader,
    watch: &[Watch<'_>],
    found: &mut dyn FnMut(u32, &Record) -> bool,
    spare: &mut Vec<u64>,
) -> Option<()> {
    let registered = |id| Abbrevs::from(info.shared(id).map_or(&[][..], |a| &a[..]));
    let outer = Skimmed {
        id: h.id,
        width: h.abbrev_width,
        end: h.end_bit,
        abbrevs: registered(h.id),
        codes: &[],
        needle: None,
    };
    let mut block = outer;
    let mut inside = false;
    loop {
        // An entry that runs past the end of its block (a sub-block past
        // its parent's) is caught here, at the next step.
        let start = cursor.position();
        if start >= block.end {
            return None;
        }
        // A record to be read is read at once, not stepped over first.
        let watched = |code| block.codes.contains(&code);
        if !block.codes.is_empty()
            && code_at(cursor, block.abbrevs, start, block.width).is_some_and(watched)
        {
            hand_over(cursor, &block, start, spare, found)?;
            continue;
        }
        let quick = step_quickly(cursor, || block.abbrevs, start, block.width).ok()?;
        let code = match quick {
            Some(code) => Some(code),
            None => match cursor.read(block.width).ok()? as u32 {
                END_BLOCK => {
                    cursor.align32().ok()?;
                    if cursor.position() != block.end {
                        return None;
                    }
                    if !inside {
                        return Some(());
                    }
                    (block, inside) = (outer, false);
                    None
                }
                ENTER_SUBBLOCK => {
                    let sub = read_block_header(cursor, start, |_| None).ok()?;
                    if inside || sub.id == BLOCKINFO_BLOCK_ID {
                        return None;
                    }
                    match watch.iter().find(|w| w.block == sub.id) {
                        Some(w) => {
                            block = Skimmed {
                                id: sub.id,
                                width: sub.abbrev_width,
                                end: sub.end_bit,
                                abbrevs: registered(sub.id),
                                codes: w.codes,
                                needle: w.needle,
                            };
                            inside = true;
                        }
                        None => cursor.seek(sub.end_bit).ok()?,
                    }
                    None
                }
                DEFINE_ABBREV => return None,
                id => Some(u64::from(
                    step_record(cursor, block.abbrevs, start, id).ok()?,
                )),
            },
        };
        // A record whose code could not be told at once is read again.
        if code.is_some_and(|code| u32::try_from(code).is_ok_and(watched)) {
            cursor.seek(start).ok()?;
            hand_over(cursor, &block, start, spare, found)?;
        }
    }
}

/// A record code, which must fit in 32 bits.
fn record_code(start: u64, code: u64) -> Result<u32> {
    u32::try_from(code).map_err(|_| Error::parse(start, format!("record code {code} out of range")))
}

fn bump(counts: &mut Vec<(u32, u32)>, id: u32) -> u32 {
    match counts.iter_mut().find(|(k, _)| *k == id) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            counts.push((id, 1));
            1
        }
    }
}

impl<'a> Reader<'a> {
    /// A reader over `data[start..end]`, which must hold a bitstream whose
    /// magic number has already been checked and is skipped here (the
    /// stream's first entry is read at `start + magic_len`).
    pub fn new(
        data: &'a [u8],
        start: usize,
        end: usize,
        magic_len: usize,
        namer: BlockNamer,
    ) -> Result<Self> {
        let mut cursor = BitCursor::new(data, start, end);
        cursor.seek(cursor.position() + 8 * magic_len as u64)?;
        Ok(Reader {
            cursor,
            blockinfo: Rc::default(),
            scopes: Vec::new(),
            top_counts: Vec::new(),
            pending: None,
            namer,
            operands: Operands::All,
            spare: Vec::new(),
            spare_scopes: Vec::new(),
        })
    }

    /// The underlying buffer.
    pub fn data(&self) -> &'a [u8] {
        self.cursor.data()
    }

    /// Current bit position.
    pub fn position(&self) -> u64 {
        self.cursor.position()
    }

    /// Depth of block nesting (0 at top level).
    pub fn depth(&self) -> usize {
        self.scopes.len()
    }

    /// The id of the block being read, if any.
    pub fn current_block(&self) -> Option<u32> {
        self.scopes.last().map(|s| s.header.id)
    }

    /// Ids of the enclosing blocks, outermost first.
    pub fn block_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.scopes.iter().map(|s| s.header.id)
    }

    /// The abbreviations in effect in the current block.
    pub fn current_abbrevs(&self) -> Abbrevs<'_> {
        self.scopes.last().map(Scope::abbrevs).unwrap_or_default()
    }

    /// Where operand `index` (counted as [`Record::ops`] counts) of `r`,
    /// a record of the current block, stands: `None` when the record has
    /// no such operand or it is not a Fixed or VBR field (a literal, a
    /// Char6, a blob).
    ///
    /// # Errors
    /// Parse errors for truncated data, or an abbreviation id the block
    /// does not define.
    pub fn operand_span(&self, r: &Record, index: usize) -> Result<Option<OperandSpan>> {
        let data = self.cursor.data();
        let mut cursor = BitCursor::new(data, 0, data.len());
        let width = self
            .scopes
            .last()
            .map_or(TOP_LEVEL_ABBREV_WIDTH, |s| s.header.abbrev_width);
        cursor.seek(r.start_bit + u64::from(width))?;
        if r.abbrev_id == UNABBREV_RECORD {
            let (_, n) = unabbreviated_header(&mut cursor, r.start_bit)?;
            if index as u64 >= n {
                return Ok(None);
            }
            cursor.skip_vbr6(index as u64)?;
            let from = cursor.position();
            cursor.read_vbr(6)?;
            return Ok(Some(OperandSpan {
                from,
                to: cursor.position(),
                encoding: AbbrevOp::Vbr(6),
            }));
        }
        let abbrev = abbreviation(self.current_abbrevs(), r.start_bit, r.abbrev_id)?;
        let mut span = None;
        abbrev.find_operands(&mut cursor, &[index], |_, from, to, op| {
            if matches!(op, AbbrevOp::Fixed(_) | AbbrevOp::Vbr(_)) {
                span = Some(OperandSpan {
                    from,
                    to,
                    encoding: op.clone(),
                });
            }
        })?;
        Ok(span)
    }

    /// The block path, e.g. `MODULE_BLOCK > FUNCTION_BLOCK #12 > VALUE_SYMTAB`;
    /// empty at top level.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.scopes.iter().enumerate() {
            if i > 0 {
                out.push_str(" > ");
            }
            out.push_str(&self.block_label(u64::from(s.header.id)));
            if s.ordinal > 1 {
                out.push_str(&format!(" #{}", s.ordinal));
            }
        }
        out
    }

    /// A block id's name, or `block N`.
    pub fn block_label(&self, id: u64) -> String {
        block_label(self.namer, id)
    }

    fn located(&self, e: Error) -> Error {
        e.with_path(|| self.path())
    }

    /// A parse error at `bit`, with the current block path.
    pub fn error(&self, bit: u64, message: impl Into<String>) -> Error {
        self.located(Error::parse(bit, message))
    }

    /// The next entry, or `None` at the end of the stream. A sub-block
    /// announced by the previous call and neither entered nor skipped is
    /// skipped.
    ///
    /// # Errors
    /// Parse errors for malformed data, with bit offset and block path.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        self.skip()?;
        self.next_inner().map_err(|e| self.located(e))
    }

    /// Like [`Reader::next_entry`], but steps over records and abbreviation
    /// definitions (which take effect) without returning them: the next
    /// entry returned is a sub-block, a BLOCKINFO block or the end of the
    /// current block. Records are checked as `next_entry` checks them. For
    /// blocks whose records are copied as one bit range, not interpreted
    /// (instructions), this is the fast path.
    ///
    /// # Errors
    /// As [`Reader::next_entry`].
    pub fn next_block_boundary(&mut self) -> Result<Option<Entry>> {
        self.step_to_next(&[], None)
    }

    /// Steps over the sub-block just announced the quick way, if it holds
    /// only what that way knows: records, and sub-blocks that are skipped
    /// by their length or, if `watch` names their id, looked into (one
    /// level). In a sub-block looked into, each record with one of the
    /// codes `watch` gives for it is read (operands kept) and handed to
    /// `found` with the block id; the others are stepped over. Every entry
    /// is checked as [`Reader::next_of`] checks it.
    ///
    /// Gives `false`, with the block still announced and nothing else
    /// changed, for anything else: abbreviation definitions, BLOCKINFO,
    /// blocks nested deeper, malformed data, or `found` giving `false`.
    /// The caller then reads the block the usual way (which reports what
    /// is malformed) and drops what `found` was given.
    ///
    /// This is the fast path for blocks read for a few records among many
    /// (function bodies): no block is entered, no entry returned.
    pub fn skim(
        &mut self,
        watch: &[Watch<'_>],
        found: &mut dyn FnMut(u32, &Record) -> bool,
    ) -> bool {
        let Some((h, _)) = &self.pending else {
            return false;
        };
        let from = self.cursor.position();
        let info = &*self.blockinfo;
        if skim(&mut self.cursor, info, h, watch, found, &mut self.spare).is_some() {
            self.pending = None;
            return true;
        }
        self.cursor.seek(from).expect("a position the cursor held");
        false
    }

    /// The next entry of interest in the current block: a record whose
    /// code is one of `codes` (read, its operands as
    /// [`Reader::set_operands`] says), a sub-block whose id is one of
    /// `blocks`, a BLOCKINFO block (read and in effect) or the block's end.
    /// Other records are stepped over and other sub-blocks skipped by
    /// their length (they count as met, for the ordinals in block paths):
    /// for blocks where a few kinds of entry matter among many that do not.
    ///
    /// # Errors
    /// As [`Reader::next_entry`].
    pub fn next_of(&mut self, codes: &[u32], blocks: &[u32]) -> Result<Option<Entry>> {
        self.step_to_next(codes, Some(blocks))
    }

    fn step_to_next(&mut self, codes: &[u32], blocks: Option<&[u32]>) -> Result<Option<Entry>> {
        self.skip()?;
        match self.step_over_records(codes, blocks) {
            Ok(Some(entry)) => Ok(Some(entry)),
            Ok(None) => self.next_inner(),
            Err(e) => Err(e),
        }
        .map_err(|e| self.located(e))
    }

    /// Steps over records and definitions until the next entry is END_BLOCK
    /// or ENTER_SUBBLOCK, or a record with one of `codes` (left unread), or
    /// the stream's top level. With `blocks`, a sub-block whose id is not
    /// one of them is skipped, and one that is is announced and returned.
    fn step_over_records(
        &mut self,
        codes: &[u32],
        blocks: Option<&[u32]>,
    ) -> Result<Option<Entry>> {
        let Some(scope) = self.scopes.last() else {
            return Ok(None);
        };
        let width = scope.header.abbrev_width;
        let block_end = scope.header.end_bit;
        loop {
            let start = self.cursor.position();
            if start >= block_end {
                return Err(Error::parse(start, "block ends without END_BLOCK"));
            }
            let scopes = &self.scopes;
            let abbrevs = || scopes.last().expect("inside a block").abbrevs();
            // The code of the record stepped over (none for a definition).
            let code = match step_quickly(&mut self.cursor, abbrevs, start, width)? {
                Some(code) => Some(code),
                None => match self.cursor.read(width)? as u32 {
                    END_BLOCK => {
                        self.cursor.seek(start)?;
                        return Ok(None);
                    }
                    ENTER_SUBBLOCK => {
                        let Some(wanted) = blocks else {
                            self.cursor.seek(start)?;
                            return Ok(None);
                        };
                        let h = self.sub_block_header(start, block_end)?;
                        if h.id == BLOCKINFO_BLOCK_ID || wanted.contains(&h.id) {
                            return self.announce(h).map(Some);
                        }
                        let scope = self.scopes.last_mut().expect("inside a block");
                        bump(&mut scope.child_counts, h.id);
                        self.cursor.seek(h.end_bit)?;
                        None
                    }
                    DEFINE_ABBREV => {
                        let abbrev = read_definition(&mut self.cursor)?;
                        self.scopes.last_mut().unwrap().abbrevs.push(abbrev);
                        None
                    }
                    id => Some(u64::from(step_record(
                        &mut self.cursor,
                        abbrevs(),
                        start,
                        id,
                    )?)),
                },
            };
            if self.cursor.position() > block_end {
                return Err(Error::parse(start, "entry runs past the end of its block"));
            }
            if code.is_some_and(|code| codes.iter().any(|&c| u64::from(c) == code)) {
                self.cursor.seek(start)?;
                return Ok(None);
            }
        }
    }

    fn next_inner(&mut self) -> Result<Option<Entry>> {
        let Some(scope) = self.scopes.last() else {
            return self.next_top_level();
        };
        let width = scope.header.abbrev_width;
        let block_end = scope.header.end_bit;
        let start = self.cursor.position();
        if start >= block_end {
            return Err(Error::parse(start, "block ends without END_BLOCK"));
        }
        let id = self.cursor.read(width)? as u32;
        let entry = match id {
            END_BLOCK => {
                self.cursor.align32()?;
                let end = self.cursor.position();
                if end != block_end {
                    return Err(Error::parse(
                        start,
                        format!("END_BLOCK at bit {end}, but the block header says the block ends at bit {block_end}"),
                    ));
                }
                if let Some(done) = self.scopes.pop() {
                    self.spare_scopes.push(done);
                }
                Entry::EndBlock {
                    start_bit: start,
                    end_bit: end,
                }
            }
            ENTER_SUBBLOCK => {
                let h = self.sub_block_header(start, block_end)?;
                self.announce(h)?
            }
            DEFINE_ABBREV => {
                let abbrev = read_definition(&mut self.cursor)?;
                self.scopes.last_mut().unwrap().abbrevs.push(abbrev.clone());
                Entry::DefineAbbrev {
                    start_bit: start,
                    end_bit: self.cursor.position(),
                    abbrev,
                }
            }
            _ => Entry::Record(self.read_record(start, id)?),
        };
        if self.cursor.position() > block_end {
            return Err(Error::parse(start, "entry runs past the end of its block"));
        }
        Ok(Some(entry))
    }

    fn next_top_level(&mut self) -> Result<Option<Entry>> {
        let start = self.cursor.position();
        if self.cursor.bits_left() == 0 {
            return Ok(None);
        }
        // Trailing zero padding (as some containers add) ends the stream.
        let rest = &self.cursor.data()[(start / 8) as usize..(self.cursor.end() / 8) as usize];
        if start % 8 == 0 && rest.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let id = self.cursor.read(TOP_LEVEL_ABBREV_WIDTH)? as u32;
        if id != ENTER_SUBBLOCK {
            return Err(Error::parse(
                start,
                format!("expected a block at top level, found abbreviation id {id}"),
            ));
        }
        let h = self.read_block_header(start)?;
        self.announce(h).map(Some)
    }

    fn announce(&mut self, h: BlockHeader) -> Result<Entry> {
        if h.id == BLOCKINFO_BLOCK_ID {
            self.read_blockinfo(&h)?;
            return Ok(Entry::BlockInfo(h));
        }
        let ordinal = match self.scopes.last_mut() {
            Some(parent) => bump(&mut parent.child_counts, h.id),
            None => bump(&mut self.top_counts, h.id),
        };
        self.pending = Some((h.clone(), ordinal));
        Ok(Entry::SubBlock(h))
    }

    /// The header of a sub-block of the current block (which ends at
    /// `block_end`), its ENTER_SUBBLOCK id at `start` just read.
    fn sub_block_header(&mut self, start: u64, block_end: u64) -> Result<BlockHeader> {
        let h = self.read_block_header(start)?;
        if h.end_bit > block_end {
            return Err(Error::parse(
                start,
                format!(
                    "sub-block {} of {} words runs past the end of its parent block",
                    h.id, h.len_words
                ),
            ));
        }
        Ok(h)
    }

    fn read_block_header(&mut self, start: u64) -> Result<BlockHeader> {
        read_block_header(&mut self.cursor, start, self.namer)
    }

    /// Enters the sub-block just announced by [`Reader::next_entry`].
    ///
    /// # Errors
    /// When nothing was announced or nesting is too deep.
    pub fn enter(&mut self) -> Result<()> {
        let Some((h, ordinal)) = self.pending.take() else {
            return Err(self.error(self.cursor.position(), "no sub-block to enter"));
        };
        if self.scopes.len() >= MAX_DEPTH {
            return Err(self.error(
                h.start_bit,
                format!("blocks nested deeper than {MAX_DEPTH}"),
            ));
        }
        // A scope left earlier lends its buffers: no allocation per block.
        let scope = match self.spare_scopes.pop() {
            Some(mut s) => {
                s.inherited = self.blockinfo.shared(h.id).cloned();
                s.header = h;
                s.abbrevs.clear();
                s.ordinal = ordinal;
                s.child_counts.clear();
                s
            }
            None => Scope {
                inherited: self.blockinfo.shared(h.id).cloned(),
                abbrevs: Vec::new(),
                header: h,
                ordinal,
                child_counts: Vec::new(),
            },
        };
        self.scopes.push(scope);
        Ok(())
    }

    /// Skips the sub-block just announced by [`Reader::next_entry`] by its length.
    pub fn skip(&mut self) -> Result<()> {
        if let Some((h, _)) = self.pending.take() {
            self.cursor.seek(h.end_bit).map_err(|e| self.located(e))?;
        }
        Ok(())
    }

    /// Chooses which records keep their operands: for blocks whose records
    /// are copied, not interpreted, this saves an allocation per record.
    /// It stays in effect, in every block, until changed.
    pub fn set_operands(&mut self, operands: Operands) {
        self.operands = operands;
    }

    /// Moves on to `bit` in the current block, past entries the caller
    /// knows without reading them again: whole records that another read
    /// of the same bytes found, with no abbreviation defined among them
    /// (so the abbreviations in effect stay right).
    ///
    /// # Errors
    /// `bit` is behind the current position or past the block's end, or
    /// no block is open, or a sub-block is announced and not yet entered.
    pub fn skip_to(&mut self, bit: u64) -> Result<()> {
        let end = self.scopes.last().map(|s| s.header.end_bit);
        if self.pending.is_some() || bit < self.cursor.position() || end.is_none_or(|e| bit > e) {
            return Err(self.error(
                self.cursor.position(),
                format!("cannot move on to bit {bit} in this block"),
            ));
        }
        self.cursor.seek(bit)
    }

    /// [`Reader::skip_to`] past `blocks` whole sub-blocks with id `id`
    /// (and nothing else) that another read of the same bytes found: they
    /// count as met, so later blocks with that id keep their ordinals.
    ///
    /// # Errors
    /// As [`Reader::skip_to`].
    pub fn skip_blocks_to(&mut self, bit: u64, id: u32, blocks: u32) -> Result<()> {
        self.skip_to(bit)?;
        let scope = self
            .scopes
            .last_mut()
            .expect("skip_to checked a block is open");
        for _ in 0..blocks {
            bump(&mut scope.child_counts, id);
        }
        Ok(())
    }

    /// Hands back a record's operand buffer once the record is used: the
    /// next record read fills it instead of a new allocation.
    pub fn recycle(&mut self, mut ops: Vec<u64>) {
        if ops.capacity() > self.spare.capacity() {
            ops.clear();
            self.spare = ops;
        }
    }

    fn read_record(&mut self, start: u64, abbrev_id: u32) -> Result<Record> {
        let scopes = &self.scopes;
        let abbrevs = || {
            scopes
                .last()
                .expect("records are read inside blocks")
                .abbrevs()
        };
        let keep = self.operands;
        read_record(
            &mut self.cursor,
            abbrevs,
            start,
            abbrev_id,
            keep,
            &mut self.spare,
        )
    }

    fn read_blockinfo(&mut self, h: &BlockHeader) -> Result<()> {
        // The body is whole words: the same bytes (and width) read as the
        // same abbreviations, so the last BLOCKINFO read on this thread
        // is reused when they match. Each file is read more than once,
        // and files from one producer often share theirs.
        let body = &self.cursor.data()[(h.body_start_bit / 8) as usize..(h.end_bit / 8) as usize];
        let known = LAST_BLOCKINFO.with(|last| {
            last.borrow()
                .as_ref()
                .filter(|last| last.width == h.abbrev_width && last.body == body)
                .map(|last| Rc::clone(&last.info))
        });
        if let Some(info) = known {
            self.blockinfo = info;
            return self.cursor.seek(h.end_bit);
        }
        let operands = std::mem::replace(&mut self.operands, Operands::All);
        let r = self.read_blockinfo_body(h);
        self.operands = operands;
        if r.is_ok() {
            let entry = ReadBlockInfo {
                width: h.abbrev_width,
                body: body.to_vec(),
                info: Rc::clone(&self.blockinfo),
            };
            LAST_BLOCKINFO.with(|last| *last.borrow_mut() = Some(entry));
        }
        r
    }

    fn read_blockinfo_body(&mut self, h: &BlockHeader) -> Result<()> {
        // A new BLOCKINFO replaces the previous one, as in LLVM, where each
        // module is read with the BLOCKINFO it carries.
        let mut lists: Vec<(u32, Vec<Rc<Abbrev>>)> = Vec::new();
        let mut current: Option<u32> = None;
        loop {
            let start = self.cursor.position();
            if start >= h.end_bit {
                return Err(Error::parse(start, "BLOCKINFO ends without END_BLOCK"));
            }
            match self.cursor.read(h.abbrev_width)? as u32 {
                END_BLOCK => {
                    self.cursor.align32()?;
                    if self.cursor.position() != h.end_bit {
                        return Err(Error::parse(
                            start,
                            "BLOCKINFO length does not match its header",
                        ));
                    }
                    break;
                }
                ENTER_SUBBLOCK => return Err(Error::parse(start, "sub-block inside BLOCKINFO")),
                DEFINE_ABBREV => {
                    let Some(bid) = current else {
                        return Err(Error::parse(
                            start,
                            "abbreviation in BLOCKINFO before SETBID",
                        ));
                    };
                    let abbrev = Abbrev::read_definition(&mut self.cursor)?;
                    let list = match lists.iter().position(|(id, _)| *id == bid) {
                        Some(i) => &mut lists[i].1,
                        None => {
                            lists.push((bid, Vec::new()));
                            &mut lists.last_mut().expect("just pushed").1
                        }
                    };
                    list.push(Rc::new(abbrev));
                }
                UNABBREV_RECORD => {
                    let r = self.read_record(start, UNABBREV_RECORD)?;
                    if r.code == BLOCKINFO_CODE_SETBID {
                        match r.ops.first() {
                            Some(&bid) if bid <= u64::from(u32::MAX) => current = Some(bid as u32),
                            _ => return Err(Error::parse(start, "malformed SETBID record")),
                        }
                    }
                }
                other => {
                    return Err(Error::parse(
                        start,
                        format!("abbreviated record (id {other}) in BLOCKINFO"),
                    ));
                }
            }
            if self.cursor.position() > h.end_bit {
                return Err(Error::parse(start, "entry runs past the end of BLOCKINFO"));
            }
        }
        self.blockinfo = Rc::new(BlockInfo::from_lists(lists));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitstream::abbrev::encode_char6;
    use crate::bitstream::writer::BitWriter;
    use crate::bitstream::AbbrevOp;

    /// A stream whose BLOCKINFO (entries `info_width` bits wide) gives
    /// block 8 the abbreviation [literal 1, fixed `bits`], then block 8.
    fn stream(info_width: u32, bits: u64) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.emit_bytes(b"BC\xc0\xde");
        let info = w.enter_block(2, BLOCKINFO_BLOCK_ID, info_width);
        w.emit_unabbrev(info_width, BLOCKINFO_CODE_SETBID, &[8]);
        w.emit(u64::from(DEFINE_ABBREV), info_width);
        w.emit_vbr(2, 5);
        w.emit(1, 1); // a literal...
        w.emit_vbr(1, 8);
        w.emit(0, 1); // ...and a fixed field
        w.emit(1, 3);
        w.emit_vbr(bits, 5);
        w.end_block(info);
        let block = w.enter_block(2, 8, 3);
        w.end_block(block);
        w.into_bytes()
    }

    fn abbrevs_in_block_8(data: &[u8]) -> Vec<Abbrev> {
        let mut r = Reader::new(data, 0, data.len(), 4, |_| None).unwrap();
        loop {
            match r.next_entry().unwrap() {
                Some(Entry::SubBlock(h)) if h.id == 8 => {
                    r.enter().unwrap();
                    return r.current_abbrevs().iter().map(|a| (**a).clone()).collect();
                }
                Some(_) => {}
                None => panic!("no block 8"),
            }
        }
    }

    /// `skip_to` moves on past records read elsewhere, inside the open
    /// block only, never backwards, and not with a sub-block announced.
    #[test]
    fn skip_to_moves_on_within_the_block_only() {
        let mut w = BitWriter::new();
        w.emit_bytes(b"BC\xc0\xde");
        let block = w.enter_block(2, 8, 3);
        for code in 1..=3 {
            w.emit_unabbrev(3, code, &[u64::from(code) * 100, 7]);
        }
        let sub = w.enter_block(3, 9, 3);
        w.end_block(sub);
        w.end_block(block);
        let data = w.into_bytes();
        let mut r = Reader::new(&data, 0, data.len(), 4, |_| None).unwrap();
        assert!(r.skip_to(64).is_err(), "no block open");
        assert!(matches!(r.next_entry().unwrap(), Some(Entry::SubBlock(_))));
        assert!(r.skip_to(64).is_err(), "a sub-block announced");
        r.enter().unwrap();
        let first = match r.next_entry().unwrap() {
            Some(Entry::Record(rec)) => rec,
            other => panic!("{other:?}"),
        };
        let second_end = {
            let mut peek = Reader::new(&data, 0, data.len(), 4, |_| None).unwrap();
            peek.next_entry().unwrap();
            peek.enter().unwrap();
            peek.next_entry().unwrap();
            match peek.next_entry().unwrap() {
                Some(Entry::Record(rec)) => rec.end_bit,
                other => panic!("{other:?}"),
            }
        };
        assert!(r.skip_to(first.start_bit).is_err(), "backwards");
        assert!(r.skip_to(u64::MAX).is_err(), "past the block");
        r.skip_to(second_end).unwrap();
        match r.next_entry().unwrap() {
            Some(Entry::Record(rec)) => assert_eq!((rec.code, rec.ops[0]), (3, 300)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.next_entry().unwrap(), Some(Entry::SubBlock(_))));
    }

    /// Sub-blocks passed with `skip_blocks_to`, or skipped by `next_of`,
    /// count as met: the block after them has the ordinal reading each
    /// would have given it.
    #[test]
    fn blocks_skipped_to_keep_the_ordinals_of_those_after() {
        let mut w = BitWriter::new();
        w.emit_bytes(b"BC\xc0\xde");
        let block = w.enter_block(2, 8, 3);
        let mut ends = Vec::new();
        for id in [12, 12, 12, 14, 12] {
            let sub = w.enter_block(3, id, 3);
            w.end_block(sub);
            ends.push(w.position());
        }
        w.end_block(block);
        let data = w.into_bytes();
        let mut r = Reader::new(&data, 0, data.len(), 4, |_| None).unwrap();
        r.next_entry().unwrap();
        r.enter().unwrap();
        assert!(matches!(r.next_entry().unwrap(), Some(Entry::SubBlock(_))));
        assert!(
            r.skip_blocks_to(ends[2], 12, 2).is_err(),
            "a sub-block announced"
        );
        r.skip().unwrap();
        r.skip_blocks_to(ends[2], 12, 2).unwrap();
        // The two blocks left, as the reader finds them one way or the
        // other: each has the path of its place among all five.
        let last_two = |r: &mut Reader<'_>, skipping: bool| {
            for (id, path) in [(14, "block 8 > block 14"), (12, "block 8 > block 12 #4")] {
                let next = if skipping {
                    r.next_of(&[], &[id])
                } else {
                    r.next_entry()
                };
                match next.unwrap() {
                    Some(Entry::SubBlock(h)) => assert_eq!(h.id, id),
                    other => panic!("{other:?}"),
                }
                r.enter().unwrap();
                assert_eq!(r.path(), path);
                assert!(matches!(
                    r.next_entry().unwrap(),
                    Some(Entry::EndBlock { .. })
                ));
            }
        };
        last_two(&mut r, false);
        // Blocks `next_of` skips count as met too.
        let mut r = Reader::new(&data, 0, data.len(), 4, |_| None).unwrap();
        r.next_entry().unwrap();
        r.enter().unwrap();
        last_two(&mut r, true);
        assert!(matches!(
            r.next_of(&[], &[]).unwrap(),
            Some(Entry::EndBlock { .. })
        ));
    }

    /// The BLOCKINFO kept from the last read on the thread stands in only
    /// for the same bytes read with the same width: streams read in turn
    /// each get their own abbreviations, repeated or not.
    #[test]
    fn a_blockinfo_read_before_stands_in_only_for_the_same_bytes() {
        for (width, bits) in [(2, 7), (2, 7), (2, 9), (3, 9), (2, 7), (3, 7), (3, 7)] {
            let want = vec![Abbrev::new(vec![
                AbbrevOp::Literal(1),
                AbbrevOp::Fixed(bits as u32),
            ])];
            let data = stream(width, bits);
            assert_eq!(
                abbrevs_in_block_8(&data),
                want,
                "width {width}, {bits} bits"
            );
        }
    }

    /// A block's abbreviation ids count BLOCKINFO's for its id first, then
    /// its own definitions; a BLOCKINFO read inside an open block changes
    /// only the blocks entered after it.
    #[test]
    fn ids_count_blockinfo_abbreviations_then_the_blocks_own() {
        let define = |w: &mut BitWriter, width: u32, code: u64, bits: u64| {
            w.emit(u64::from(DEFINE_ABBREV), width);
            w.emit_vbr(2, 5);
            w.emit(1, 1);
            w.emit_vbr(code, 8);
            w.emit(0, 1);
            w.emit(1, 3);
            w.emit_vbr(bits, 5);
        };
        let blockinfo = |w: &mut BitWriter, code: u64, bits: u64| {
            let info = w.enter_block(3, BLOCKINFO_BLOCK_ID, 2);
            w.emit_unabbrev(2, BLOCKINFO_CODE_SETBID, &[9]);
            define(w, 2, code, bits);
            w.end_block(info);
        };
        let mut w = BitWriter::new();
        w.emit_bytes(b"BC\xc0\xde");
        let outer = w.enter_block(2, 8, 3);
        blockinfo(&mut w, 1, 3);
        let first = w.enter_block(3, 9, 3);
        define(&mut w, 3, 2, 5);
        w.emit(4, 3); // BLOCKINFO's abbreviation: code 1, 3 bits
        w.emit(5, 3);
        w.emit(5, 3); // the block's own: code 2, 5 bits
        w.emit(17, 5);
        // A new BLOCKINFO, read while the block is open.
        blockinfo(&mut w, 7, 4);
        w.emit(4, 3); // still code 1, 3 bits here
        w.emit(2, 3);
        w.end_block(first);
        let second = w.enter_block(3, 9, 3);
        w.emit(4, 3); // the new BLOCKINFO's: code 7, 4 bits
        w.emit(9, 4);
        w.end_block(second);
        w.end_block(outer);
        let data = w.into_bytes();

        let mut r = Reader::new(&data, 0, data.len(), 4, |_| None).unwrap();
        let mut records = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            match e {
                Entry::SubBlock(_) => r.enter().unwrap(),
                Entry::Record(rec) => {
                    let ids = r.current_abbrevs().len();
                    records.push((rec.code, rec.abbrev_id, rec.ops, ids));
                }
                _ => {}
            }
        }
        assert_eq!(
            records,
            [
                (1, 4, vec![5], 2),
                (2, 5, vec![17], 2),
                (1, 4, vec![2], 2),
                (7, 4, vec![9], 1),
            ]
        );
    }

    /// A definition whose bits were read before on the thread is that
    /// definition, shared ([`read_definition`]): read at any bit position,
    /// among definitions that differ in their last bits, malformed ones
    /// and ones near the end of the data, it is what reading it gives, to
    /// the same position, with the same errors.
    #[test]
    fn definitions_read_again_are_the_definitions_read_first() {
        use AbbrevOp::{Array, Blob, Char6, Fixed, Literal, Vbr};
        let mut next = crate::testing::xorshift(0x3c6e_f372_fe94_f82b);
        let kinds = [
            vec![Literal(16), Array(Box::new(Fixed(8)))],
            vec![Literal(1), Blob],
            vec![Literal(2), Vbr(6), Vbr(6), Fixed(4)],
            vec![Literal(2), Vbr(6), Vbr(6), Fixed(5)],
            vec![Literal(2), Vbr(6), Vbr(6)],
            vec![Fixed(3), Vbr(8), Array(Box::new(Char6))],
            vec![Literal(20), Vbr(6), Fixed(7), Vbr(4), Fixed(1)],
        ];
        let mut last: Vec<Option<Rc<Abbrev>>> = vec![None; kinds.len()];
        let (mut shared, mut read, mut errors) = (0, 0, 0);
        for round in 0..4000 {
            let k = (next() % kinds.len() as u64) as usize;
            let mut w = BitWriter::new();
            let offset = (next() % 64) as u32;
            w.emit(next() & ((1u64 << offset) - 1), offset);
            define(&mut w, 2, &kinds[k]);
            // Random bits after it, or few enough that it lies near the end.
            let after = if next() % 8 == 0 {
                (next() % 8) as u32
            } else {
                56
            };
            w.emit(next() & ((1u64 << after) - 1), after);
            let mut data = w.into_bytes();
            let changed = next() % 10 == 0;
            if changed {
                let at = (next() as usize) % data.len();
                data[at] ^= 1 << (next() % 8);
            }
            let mut usual = BitCursor::new(&data, 0, data.len());
            usual.seek(u64::from(offset) + 2).unwrap();
            let mut cached = usual.clone();
            match (
                Abbrev::read_definition(&mut usual),
                read_definition(&mut cached),
            ) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, *b, "round {round}");
                    assert_eq!(usual.position(), cached.position(), "round {round}");
                    if !changed {
                        shared += usize::from(last[k].as_ref().is_some_and(|p| Rc::ptr_eq(p, &b)));
                        last[k] = Some(b);
                    }
                    read += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string(), "round {round}");
                    errors += 1;
                }
                (a, b) => panic!("round {round}: {a:?} against {b:?}"),
            }
        }
        // Shared many times, read anew many times (near the end of the
        // data, or changed), and errors compared.
        assert!(
            shared > 2000 && read - shared > 300 && errors > 10,
            "{shared} shared of {read} read, {errors} errors"
        );
    }

    /// Writes a DEFINE_ABBREV for `ops` (arrays as their element after).
    fn define(w: &mut BitWriter, width: u32, ops: &[AbbrevOp]) {
        let count: u64 = ops
            .iter()
            .map(|op| {
                if matches!(op, AbbrevOp::Array(_)) {
                    2
                } else {
                    1
                }
            })
            .sum();
        w.emit(u64::from(DEFINE_ABBREV), width);
        w.emit_vbr(count, 5);
        let scalar = |w: &mut BitWriter, op: &AbbrevOp| match op {
            AbbrevOp::Literal(v) => {
                w.emit(1, 1);
                w.emit_vbr(*v, 8);
            }
            AbbrevOp::Fixed(b) | AbbrevOp::Vbr(b) => {
                w.emit(0, 1);
                w.emit(
                    if matches!(op, AbbrevOp::Fixed(_)) {
                        1
                    } else {
                        2
                    },
                    3,
                );
                w.emit_vbr(u64::from(*b), 5);
            }
            AbbrevOp::Char6 => {
                w.emit(0, 1);
                w.emit(4, 3);
            }
            AbbrevOp::Array(_) | AbbrevOp::Blob => unreachable!(),
        };
        for op in ops {
            match op {
                AbbrevOp::Array(elem) => {
                    w.emit(0, 1);
                    w.emit(3, 3);
                    scalar(w, elem);
                }
                AbbrevOp::Blob => {
                    w.emit(0, 1);
                    w.emit(5, 3);
                }
                op => scalar(w, op),
            }
        }
    }

    /// Where the reader stops, or the error it stops with, stepping to
    /// the next boundary of block 8 (of the sub-blocks, those with an id
    /// in `blocks`, when given), or record with one of the codes `stop`,
    /// one way or the other.
    fn boundary(
        data: &[u8],
        by_records: bool,
        stop: &[u32],
        blocks: Option<&[u32]>,
    ) -> std::result::Result<u64, String> {
        let mut r = Reader::new(data, 0, data.len(), 4, |_| None).map_err(|e| e.to_string())?;
        let entered = (|| match r.next_entry()? {
            Some(Entry::SubBlock(h)) if h.id == 8 => r.enter(),
            _ => Err(Error::parse(0, "no block 8")),
        })();
        entered.map_err(|e| format!("setup: {e}"))?;
        loop {
            let e = match (by_records, blocks) {
                (true, _) => r.next_entry(),
                (false, Some(blocks)) => r.next_of(stop, blocks),
                (false, None) if stop.is_empty() => r.next_block_boundary(),
                (false, None) => return Err("no way to stop at records there".into()),
            };
            match e.map_err(|e| e.to_string())? {
                Some(Entry::Record(rec)) if !by_records || stop.contains(&rec.code) => {
                    return Ok(rec.start_bit)
                }
                Some(Entry::Record(_) | Entry::DefineAbbrev { .. }) if by_records => {}
                Some(Entry::SubBlock(h))
                    if by_records && blocks.is_some_and(|b| !b.contains(&h.id)) => {}
                Some(Entry::SubBlock(h) | Entry::BlockInfo(h)) => return Ok(h.start_bit),
                Some(Entry::EndBlock { start_bit, .. }) => return Ok(start_bit),
                Some(e) => return Err(format!("{e:?} returned")),
                None => return Ok(r.position()),
            }
        }
    }

    /// Every Fixed and VBR operand of every record of real modules is
    /// found where its value is written; others (literals, Char6, a
    /// blob) and operands past the last are not found.
    #[test]
    fn operand_spans_hold_the_operands_read() {
        let (mut spans, mut others) = (0, 0);
        for rel in [
            "clang-19/prog/prelink/util.o",
            "clang-14/cfi/prelink/main.o",
        ] {
            let (data, _) = crate::testing::testdata_file(rel);
            let (_, stream) = super::super::wrapper::locate(&data).unwrap();
            let mut r = Reader::new(&data, stream.start, stream.end, 4, |_| None).unwrap();
            while let Some(e) = r.next_entry().unwrap() {
                let rec = match e {
                    Entry::SubBlock(_) => {
                        r.enter().unwrap();
                        continue;
                    }
                    Entry::Record(rec) => rec,
                    _ => continue,
                };
                let abbrev = (rec.abbrev_id != UNABBREV_RECORD)
                    .then(|| {
                        r.current_abbrevs()
                            .get((rec.abbrev_id - 4) as usize)
                            .cloned()
                    })
                    .flatten();
                for (i, &v) in rec.ops.iter().enumerate() {
                    let Some(span) = r.operand_span(&rec, i).unwrap() else {
                        others += 1;
                        continue;
                    };
                    spans += 1;
                    let mut c = BitCursor::new(&data, 0, data.len());
                    c.seek(span.from).unwrap();
                    let read = match span.encoding {
                        AbbrevOp::Fixed(w) => c.read(w).unwrap(),
                        AbbrevOp::Vbr(w) => c.read_vbr(w).unwrap(),
                        ref other => panic!("{other:?}"),
                    };
                    assert_eq!((read, c.position()), (v, span.to), "{rec:?} operand {i}");
                    assert!(span.holds(v) && rec.start_bit < span.from && span.to <= rec.end_bit);
                }
                assert_eq!(r.operand_span(&rec, rec.ops.len()).unwrap(), None);
                if let Some(a) = abbrev {
                    // Operands the abbreviation gives as literals or Char6
                    // are never found.
                    let fixed = a.ops()[1..]
                        .iter()
                        .all(|op| matches!(op, AbbrevOp::Fixed(_) | AbbrevOp::Vbr(_)));
                    if fixed {
                        assert!(
                            (0..rec.ops.len()).all(|i| r.operand_span(&rec, i).unwrap().is_some())
                        );
                    }
                }
            }
        }
        assert!(
            spans > 1000 && others > 50,
            "{spans} spans, {others} others"
        );
    }

    /// Stepping over records (with its quick ways for unabbreviated
    /// headers of one or two chunks and all-scalar abbreviations with a
    /// literal code) stops where reading them one by one stops, with the
    /// same errors: on well-formed blocks of mixed records and on the same
    /// blocks with bits flipped.
    #[test]
    fn stepping_over_records_agrees_with_reading_them() {
        let mut next = crate::testing::xorshift(0x6a09_e667_f3bc_c908);
        let abbrevs = [
            vec![AbbrevOp::Literal(5), AbbrevOp::Vbr(6), AbbrevOp::Fixed(3)],
            vec![AbbrevOp::Vbr(6), AbbrevOp::Fixed(5)],
            vec![
                AbbrevOp::Literal(7),
                AbbrevOp::Array(Box::new(AbbrevOp::Char6)),
            ],
            vec![AbbrevOp::Literal(1 << 33), AbbrevOp::Fixed(2)],
            vec![AbbrevOp::Literal(9), AbbrevOp::Vbr(4), AbbrevOp::Vbr(8)],
        ];
        let value = |next: &mut dyn FnMut() -> u64| {
            let bits = next() % 65;
            let v = next();
            if bits == 64 {
                v
            } else {
                v & ((1u64 << bits) - 1)
            }
        };
        let mut outcomes = [0; 2];
        for round in 0..300 {
            let mut w = BitWriter::new();
            w.emit_bytes(b"BC\xc0\xde");
            let block = w.enter_block(2, 8, 4);
            for a in &abbrevs {
                define(&mut w, 4, a);
            }
            for _ in 0..next() % 60 {
                match next() % 6 {
                    0..=2 => {
                        let code = [3, 40, 900, 70_000][(next() % 4) as usize];
                        let ops: Vec<u64> = (0..next() % 12).map(|_| value(&mut next)).collect();
                        w.emit_unabbrev(4, code, &ops);
                    }
                    3 => {
                        w.emit(4, 4);
                        w.emit_vbr(value(&mut next), 6);
                        w.emit(next() % 8, 3);
                    }
                    4 => {
                        w.emit(5, 4);
                        w.emit_vbr(next() % 100, 6);
                        w.emit(next() % 32, 5);
                    }
                    _ => {
                        w.emit(8, 4);
                        w.emit_vbr(value(&mut next) % 1000, 4);
                        w.emit_vbr(value(&mut next), 8);
                    }
                }
            }
            if round % 7 == 0 {
                w.emit(6, 4); // an array record: the usual way
                w.emit_vbr(3, 6);
                w.emit(1, 6);
                w.emit(2, 6);
                w.emit(3, 6);
            }
            if round % 11 == 0 {
                w.emit(7, 4); // a code out of range
                w.emit(1, 2);
            }
            let inner = w.enter_block(4, 9, 3);
            w.end_block(inner);
            w.end_block(block);
            let data = w.into_bytes();
            // Codes met the quick ways and the usual ways; every sub-block
            // a boundary, or only those wanted.
            let stop = [&[][..], &[40, 9], &[70_000, 7], &[5]][round % 4];
            let blocks = [None, Some(&[9][..]), Some(&[][..])][round % 3];
            let stop = if blocks.is_none() { &[][..] } else { stop };
            let stepped = boundary(&data, false, stop, blocks);
            assert_eq!(
                stepped,
                boundary(&data, true, stop, blocks),
                "round {round}"
            );
            outcomes[usize::from(stepped.is_ok())] += 1;
            for _ in 0..20 {
                let mut bad = data.clone();
                // Flip a bit past the block header (bytes 4..12).
                let at = 12 + (next() as usize) % (bad.len() - 12);
                bad[at] ^= 1 << (next() % 8);
                let stepped = boundary(&bad, false, stop, blocks);
                assert_eq!(stepped, boundary(&bad, true, stop, blocks), "round {round}");
                outcomes[usize::from(stepped.is_ok())] += 1;
            }
        }
        // Both ends and errors were compared, many times.
        assert!(
            outcomes.iter().all(|&n| n > 500),
            "{outcomes:?} (errors, ends)"
        );
    }
    /// Block 12 of a random stream for [`skim`]: records of every kind
    /// (abbreviations from BLOCKINFO, among them an array), sub-blocks 11
    /// and 14 (looked into) and 16 (skipped); in some rounds what the quick
    /// way leaves to the usual way. Block 8 holds it, then a record.
    fn skim_stream(round: usize, next: &mut dyn FnMut() -> u64) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.emit_bytes(b"BC\xc0\xde");
        let info = w.enter_block(2, BLOCKINFO_BLOCK_ID, 2);
        for (id, abbrevs) in [
            (
                12,
                vec![
                    vec![
                        AbbrevOp::Literal(2),
                        AbbrevOp::Vbr(6),
                        AbbrevOp::Vbr(6),
                        AbbrevOp::Fixed(4),
                    ],
                    vec![
                        AbbrevOp::Literal(43),
                        AbbrevOp::Fixed(1),
                        AbbrevOp::Array(Box::new(AbbrevOp::Vbr(6))),
                    ],
                ],
            ),
            (
                14,
                vec![
                    vec![
                        AbbrevOp::Literal(2),
                        AbbrevOp::Vbr(8),
                        AbbrevOp::Array(Box::new(AbbrevOp::Char6)),
                    ],
                    vec![
                        AbbrevOp::Fixed(3),
                        AbbrevOp::Vbr(8),
                        AbbrevOp::Array(Box::new(AbbrevOp::Fixed(8))),
                    ],
                ],
            ),
        ] {
            w.emit_unabbrev(2, BLOCKINFO_CODE_SETBID, &[id]);
            for a in &abbrevs {
                define(&mut w, 2, a);
            }
        }
        w.end_block(info);
        let outer = w.enter_block(2, 8, 3);
        let block = w.enter_block(3, 12, 4);
        let value = |next: &mut dyn FnMut() -> u64| next() >> (next() % 64);
        for _ in 0..next() % 40 {
            match next() % 8 {
                0..=2 => {
                    let ops: Vec<u64> = (0..next() % 12).map(|_| value(next)).collect();
                    w.emit_unabbrev(4, (next() % 70) as u32, &ops);
                }
                3 => {
                    w.emit(4, 4);
                    w.emit_vbr(value(next), 6);
                    w.emit_vbr(value(next) % 5000, 6);
                    w.emit(next() % 16, 4);
                }
                4 => {
                    w.emit(5, 4);
                    w.emit(next() % 2, 1);
                    let n = next() % 6;
                    w.emit_vbr(n, 6);
                    for _ in 0..n {
                        w.emit_vbr(value(next), 6);
                    }
                }
                5 | 6 => {
                    let (id, width) = if next() % 2 == 0 { (11, 4) } else { (14, 4) };
                    let sub = w.enter_block(4, id, width);
                    for _ in 0..next() % 5 {
                        let code = [1, 2, 30, 18, 70_000][(next() % 5) as usize];
                        // A name: often the needle, or some of its bytes.
                        let name = |next: &mut dyn FnMut() -> u64| {
                            let n = (next() % 20) as usize;
                            let mut name: Vec<u8> = (0..n)
                                .map(|_| match next() % 4 {
                                    0 => b"a.b"[(next() % 3) as usize],
                                    _ => (next() % 256) as u8,
                                })
                                .collect();
                            if n >= NEEDLE.len() && next() % 3 == 0 {
                                let at = (next() as usize) % (n - NEEDLE.len() + 1);
                                name[at..at + NEEDLE.len()].copy_from_slice(&NEEDLE);
                            }
                            name
                        };
                        if id == 14 && code == 2 && next() % 2 == 0 {
                            // A name in Char6.
                            w.emit(4, 4);
                            w.emit_vbr(next() % 300, 8);
                            let name = name(next);
                            w.emit_vbr(name.len() as u64, 6);
                            for c in name {
                                w.emit(encode_char6(c).unwrap_or(next() % 64), 6);
                            }
                        } else if id == 14 && code < 3 && next() % 2 == 0 {
                            // A name in bytes, the code a field.
                            w.emit(5, 4);
                            w.emit(code as u64, 3);
                            w.emit_vbr(next() % 300, 8);
                            let name = name(next);
                            w.emit_vbr(name.len() as u64, 6);
                            for c in name {
                                w.emit(u64::from(c), 8);
                            }
                        } else {
                            let ops: Vec<u64> = (0..next() % 9).map(|_| next() % 300).collect();
                            w.emit_unabbrev(4, code, &ops);
                        }
                    }
                    if round % 13 == 1 {
                        let nested = w.enter_block(4, 16, 3);
                        w.end_block(nested);
                    }
                    w.end_block(sub);
                }
                _ => {
                    let sub = w.enter_block(4, 16, 3);
                    w.emit_unabbrev(3, 1, &[value(next)]);
                    w.end_block(sub);
                }
            }
        }
        if round % 11 == 1 {
            define(&mut w, 4, &[AbbrevOp::Literal(3), AbbrevOp::Fixed(3)]);
        }
        if round % 17 == 1 {
            let bi = w.enter_block(4, BLOCKINFO_BLOCK_ID, 2);
            w.end_block(bi);
        }
        w.end_block(block);
        w.emit_unabbrev(3, 9, &[round as u64]);
        w.end_block(outer);
        w.into_bytes()
    }

    type Watched = Vec<(u32, Record)>;

    /// Reads block 12 of `data` (with [`skim`] if `quickly`): the records
    /// of the codes [`SKIM_WATCH`] names in the sub-blocks it names, and
    /// the record that follows the block; or the error of the usual way.
    /// When the quick way gives up, the reader must be as it was: the
    /// usual way then reads on from it.
    fn skim_read(
        data: &[u8],
        quickly: bool,
    ) -> std::result::Result<(bool, Watched, Record), String> {
        let mut r = Reader::new(data, 0, data.len(), 4, |_| None).map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        let mut skimmed = false;
        let mut run = || -> Result<Record> {
            loop {
                match r.next_entry()? {
                    Some(Entry::SubBlock(h)) if h.id == 8 => r.enter()?,
                    Some(Entry::SubBlock(h)) if h.id == 12 => break,
                    Some(_) => {}
                    None => return Err(Error::parse(0, "no block 12")),
                }
            }
            if quickly {
                let at = r.position();
                skimmed = r.skim(&SKIM_WATCH, &mut |id, rec| {
                    found.push((id, rec.clone()));
                    rec.ops.len() != 7
                });
                if !skimmed {
                    assert_eq!(r.position(), at, "a skim given up moves nothing");
                    found.clear();
                }
            }
            if !skimmed {
                r.enter()?;
                let mut inside = None;
                loop {
                    match r.next_entry()? {
                        Some(Entry::SubBlock(h)) if inside.is_none() => {
                            match SKIM_WATCH.iter().find(|w| w.block == h.id) {
                                Some(w) => {
                                    r.enter()?;
                                    inside = Some((h.id, w.codes));
                                }
                                None => r.skip()?,
                            }
                        }
                        Some(Entry::Record(rec)) => {
                            if let Some((id, codes)) = inside {
                                if codes.contains(&rec.code) {
                                    found.push((id, rec));
                                }
                            }
                        }
                        Some(Entry::EndBlock { .. }) if inside.is_some() => inside = None,
                        Some(Entry::EndBlock { .. }) => break,
                        Some(_) => {}
                        None => return Err(Error::parse(0, "the stream ends in block 12")),
                    }
                }
            }
            match r.next_entry()? {
                Some(Entry::Record(rec)) => Ok(rec),
                other => Err(Error::parse(0, format!("{other:?} after block 12"))),
            }
        };
        let after = run().map_err(|e| e.to_string())?;
        // Of block 14's records, those that hold the needle: the skim
        // steps over some of the others.
        found.retain(|(id, rec)| {
            let needle = NEEDLE.map(u64::from);
            *id != 14
                || rec
                    .ops
                    .get(1..)
                    .is_some_and(|c| c.windows(4).any(|w| w == needle))
        });
        Ok((skimmed, found, after))
    }

    const NEEDLE: [u8; 4] = *b"a.b.";

    const SKIM_WATCH: [Watch<'static>; 2] = [
        Watch {
            block: 11,
            codes: &[30, 18, 70_000],
            needle: None,
        },
        Watch {
            block: 14,
            codes: &[1, 2],
            needle: Some(&NEEDLE),
        },
    ];

    /// Skimming a block finds the records, and ends where, reading it
    /// the usual way does; where it gives up (abbreviation definitions,
    /// BLOCKINFO, nesting, `found` saying so, malformed data) the reader
    /// is left as it was and the usual way reads the block, errors and
    /// all: on random blocks and on the same blocks with bits flipped.
    #[test]
    fn skimming_a_block_finds_what_reading_it_finds() {
        let mut next = crate::testing::xorshift(0xbb67_ae85_84ca_a73b);
        let mut outcomes = [0usize; 3];
        for round in 0..400 {
            let data = skim_stream(round, &mut next);
            let mut inputs = vec![data.clone()];
            for _ in 0..10 {
                let mut bad = data.clone();
                let at = next() as usize % bad.len();
                bad[at] ^= 1 << (next() % 8);
                inputs.push(bad);
            }
            for (i, d) in inputs.iter().enumerate() {
                let usual = skim_read(d, false);
                let quick = skim_read(d, true);
                match (&quick, &usual) {
                    (Ok((true, qf, qa)), Ok((_, uf, ua))) => {
                        assert_eq!((qf, qa), (uf, ua), "round {round} input {i}");
                        outcomes[0] += 1;
                    }
                    (Ok((false, ..)), _) | (Err(_), _) => {
                        assert_eq!(
                            quick.map(|q| (q.1, q.2)),
                            usual.map(|u| (u.1, u.2)),
                            "round {round} input {i}"
                        );
                        outcomes[1 + usize::from(i > 0)] += 1;
                    }
                    (Ok((true, ..)), Err(e)) => {
                        panic!("round {round} input {i}: skimmed, but read the usual way: {e}")
                    }
                }
            }
        }
        // Skims that finished, that gave up on well-formed blocks, and on
        // changed ones, each many times.
        assert!(outcomes.iter().all(|&n| n > 150), "{outcomes:?}");
        let finished_found = (0..50).any(|round| {
            let data = skim_stream(round, &mut next);
            matches!(skim_read(&data, true), Ok((true, f, _)) if f.iter().any(|(id, _)| *id == 14) && f.iter().any(|(id, _)| *id == 11))
        });
        assert!(
            finished_found,
            "skims that find records in both watched blocks"
        );
    }
}
