//! Promoted names: `<base>.llvm.<digits><tail>`.
//!
//! The promotion suffix is the rightmost `.llvm.` followed by at least one
//! ASCII digit; the digits run to the end of the name or to the first
//! non-digit. What precedes it is the base, what follows the digits (`.cfi`,
//! `.exit`, ...) is the tail and is kept. LLVM splits promoted names at the
//! rightmost `.llvm.` in the same way, and promotion can happen twice
//! (`f.llvm.1.llvm.2` has suffix `2` and base `f.llvm.1`).

/// The token before a promotion suffix; every promoted name contains it.
pub const TOKEN: &[u8] = b".llvm.";

/// A name split around its promotion suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromotedName<'a> {
    pub base: &'a [u8],
    /// The digits after `.llvm.`.
    pub suffix: &'a [u8],
    pub tail: &'a [u8],
}

impl<'a> PromotedName<'a> {
    /// Splits `name`, or `None` when it carries no promotion suffix.
    pub fn parse(name: &'a [u8]) -> Option<PromotedName<'a>> {
        // Most promoted names end with their suffix: no `.llvm.` can start
        // among the digits after the last one, so it is the rightmost.
        let digits = trailing_digits(name);
        let at = name.len() - digits;
        if digits > 0 && name[..at].ends_with(TOKEN) {
            return Some(PromotedName {
                base: &name[..at - TOKEN.len()],
                suffix: &name[at..],
                tail: &[],
            });
        }
        Self::search(name)
    }

    /// [`PromotedName::parse`] by searching for the rightmost token.
    fn search(name: &'a [u8]) -> Option<PromotedName<'a>> {
        let mut end = name.len();
        while let Some(at) = rfind(&name[..end], TOKEN) {
            let digits_start = at + TOKEN.len();
            let digits = name[digits_start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                return Some(PromotedName {
                    base: &name[..at],
                    suffix: &name[digits_start..digits_start + digits],
                    tail: &name[digits_start + digits..],
                });
            }
            // `.llvm.` not followed by a digit: look further left. The
            // token's first byte may end an earlier token (`..llvm.`), so
            // keep everything up to the token's last byte but one.
            end = at + TOKEN.len() - 1;
        }
        None
    }

    /// The suffix as text (it is ASCII digits).
    pub fn suffix_str(&self) -> &'a str {
        suffix_text(self.suffix)
    }

    /// Appends to `out` the name with the suffix digits replaced by
    /// `new_suffix`.
    pub fn append_with_suffix(&self, new_suffix: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(self.base);
        out.extend_from_slice(TOKEN);
        out.extend_from_slice(new_suffix);
        out.extend_from_slice(self.tail);
    }
}

/// How many ASCII digits `name` ends with: eight at a time while there
/// are (a suffix is a 64-bit hash in decimal, up to 20 digits), then one
/// at a time.
fn trailing_digits(name: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut n = 0;
    while let Some(chunk) = name.len().checked_sub(n + 8).map(|at| &name[at..at + 8]) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // With every byte below 0x80, adding 0x46 sets a byte's top bit
        // when it is above '9' (no carry between bytes), and subtracting
        // 0x30 sets it when it is below '0' (a borrow only reaches the
        // bytes above one that is not a digit).
        let not_digits =
            (w | w.wrapping_add(0x4646_4646_4646_4646) | w.wrapping_sub(0x3030_3030_3030_3030))
                & HIGH;
        if not_digits != 0 {
            break;
        }
        n += 8;
    }
    n + (name[..name.len() - n].iter().rev())
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// A suffix's digits, as [`PromotedName::parse`] found them, as text.
///
/// # Panics
/// If `digits` is not ASCII (it cannot be, coming from `parse`).
pub fn suffix_text(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).expect("ASCII digits")
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    // The first byte is compared on its own: most positions fail there,
    // without a call to compare the whole window.
    let first = needle[0];
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay[i] == first && &hay[i..i + needle.len()] == needle)
}

/// True if `name` holds the promotion token `.llvm.` anywhere, digits
/// after it or not (a name with no dot is answered at once).
pub fn has_token(name: &[u8]) -> bool {
    name.contains(&b'.') && name.windows(TOKEN.len()).any(|w| w == TOKEN)
}

/// True if `name` carries a promotion suffix.
pub fn carries_suffix(name: &[u8]) -> bool {
    PromotedName::parse(name).is_some()
}

/// The suffix LLVM gives names promoted out of a module with this HASH:
/// the decimal value of its first two words as one 64-bit number.
pub fn suffix_for_hash(hash: &[u32; 5]) -> String {
    ((u64::from(hash[0]) << 32) | u64::from(hash[1])).to_string()
}

/// The HASH as 40 hex digits (the SHA-1 digest LLVM computed).
pub fn hash_hex(hash: &[u32; 5]) -> String {
    hash.iter().map(|w| format!("{w:08x}")).collect()
}

/// Every promotion-suffix token in `text` (e.g. module asm), as
/// `(suffix digits, byte offset of ".llvm.")`.
pub fn suffix_tokens(text: &[u8]) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + TOKEN.len() < text.len() {
        if &text[i..i + TOKEN.len()] == TOKEN {
            let s = i + TOKEN.len();
            let n = text[s..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n > 0 {
                out.push((std::str::from_utf8(&text[s..s + n]).expect("digits"), i));
                i = s + n;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// A byte that can be part of a symbol name in assembly: an ASCII letter
/// or digit, `_`, `.` or `$`. Classed by comparisons, with no branch, so
/// that a loop over a name's bytes becomes vector code.
#[inline]
pub fn is_symbol_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'_') | (b == b'.') | (b == b'$')
}

/// True if every byte of `name` is a symbol byte ([`is_symbol_byte`]).
/// Asked of every renamed name: no early exit, so the compiler turns it
/// into vector code.
pub fn all_symbol_bytes(name: &[u8]) -> bool {
    name.iter().fold(true, |all, &b| all & is_symbol_byte(b))
}

/// The maximal runs of symbol bytes in `text`.
pub fn symbol_tokens(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| !is_symbol_byte(b))
        .filter(|t| !t.is_empty())
}

/// True if `name` occurs in `text` as a whole symbol token: not preceded
/// or followed by a byte that can continue a symbol name.
pub fn contains_token(text: &[u8], name: &[u8]) -> bool {
    if name.is_empty() || text.len() < name.len() {
        return false;
    }
    let symbol_byte = is_symbol_byte;
    (0..=text.len() - name.len()).any(|i| {
        &text[i..i + name.len()] == name
            && (i == 0 || !symbol_byte(text[i - 1]))
            && text.get(i + name.len()).is_none_or(|&b| !symbol_byte(b))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_whole_symbols() {
        assert!(super::contains_token(b"jmp foo.llvm.1\n", b"foo.llvm.1"));
        assert!(super::contains_token(b"foo.llvm.1", b"foo.llvm.1"));
        assert!(!super::contains_token(b"jmp foo.llvm.12", b"foo.llvm.1"));
        assert!(!super::contains_token(b"jmp xfoo.llvm.1", b"foo.llvm.1"));
    }

    use super::*;

    /// Symbol bytes are ASCII letters and digits, `_`, `.` and `$`,
    /// whether asked of one byte or of every byte of a name.
    #[test]
    fn symbol_bytes_are_letters_digits_and_three_marks() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"_.$".contains(&b);
            assert_eq!(is_symbol_byte(b), want, "byte {b:#x}");
            // Alone, and at every place of names long enough for vectors.
            assert_eq!(all_symbol_bytes(&[b]), want, "byte {b:#x}");
            for at in [0, 17, 63, 64, 99] {
                let mut name = b"foo.llvm.123_$Z9".repeat(7);
                name[at] = b;
                assert_eq!(all_symbol_bytes(&name), want, "byte {b:#x} at {at}");
            }
        }
        assert!(all_symbol_bytes(b""));
    }

    fn split(name: &str) -> Option<(String, String, String)> {
        PromotedName::parse(name.as_bytes()).map(|p| {
            (
                String::from_utf8(p.base.to_vec()).unwrap(),
                p.suffix_str().to_string(),
                String::from_utf8(p.tail.to_vec()).unwrap(),
            )
        })
    }

    /// Every name that carries a suffix holds the token: what a parse
    /// that steps over local names without it relies on
    /// (`LocalNames::containing`, in `scan_parse_options`).
    #[test]
    fn names_that_carry_a_suffix_hold_the_token() {
        let mut next = crate::testing::xorshift(0x510e_527f_ade6_82d1);
        let pieces: [&[u8]; 7] = [b".llvm.", b".llvm", b"llvm.", b".", b"7", b"x", b".l"];
        let mut carrying = 0;
        for _ in 0..20_000 {
            let name: Vec<u8> = (0..next() % 8)
                .flat_map(|_| {
                    pieces[(next() % pieces.len() as u64) as usize]
                        .iter()
                        .copied()
                })
                .collect();
            if carries_suffix(&name) {
                assert!(name.windows(TOKEN.len()).any(|w| w == TOKEN), "{name:?}");
                carrying += 1;
            }
        }
        assert!(carrying > 1000, "{carrying}");
    }

    #[test]
    fn plain_promoted_name() {
        assert_eq!(
            split("counter.llvm.1650418741287658743"),
            Some(("counter".into(), "1650418741287658743".into(), "".into()))
        );
    }

    #[test]
    fn tail_is_kept() {
        assert_eq!(
            split("foo.llvm.123.cfi"),
            Some(("foo".into(), "123".into(), ".cfi".into()))
        );
        assert_eq!(
            split("mix.llvm.61.exit"),
            Some(("mix".into(), "61".into(), ".exit".into()))
        );
        assert_eq!(
            split("x.llvm.12abc"),
            Some(("x".into(), "12".into(), "abc".into()))
        );
    }

    #[test]
    fn rightmost_token_wins() {
        assert_eq!(
            split("f.llvm.1.llvm.2"),
            Some(("f.llvm.1".into(), "2".into(), "".into()))
        );
        // A rightmost `.llvm.` without digits does not hide an earlier one.
        assert_eq!(
            split("f.llvm.77.llvm.x"),
            Some(("f".into(), "77".into(), ".llvm.x".into()))
        );
        assert_eq!(
            split("f.llvm..llvm.5"),
            Some(("f.llvm.".into(), "5".into(), "".into()))
        );
    }

    #[test]
    fn not_promoted() {
        for n in [
            "main",
            "llvm.memcpy.p0.p0.i64",
            "f.llvm.",
            "f.llvm.x1",
            "f.llvm",
            ".llvm.",
            "a.llvm.a_c",
        ] {
            assert_eq!(split(n), None, "{n}");
        }
        assert_eq!(split(".llvm.0"), Some(("".into(), "0".into(), "".into())));
    }

    #[test]
    fn with_suffix_replaces_only_the_digits() {
        let p = PromotedName::parse(b"f.llvm.1.llvm.22.cfi").unwrap();
        let mut out = b"<".to_vec();
        p.append_with_suffix(b"a_c", &mut out);
        assert_eq!(out, b"<f.llvm.1.llvm.a_c.cfi");
    }

    #[test]
    fn hash_to_suffix_as_llvm_does() {
        // From bitcode-facts.md: H[0]=393934927, H[1]=2789570333.
        assert_eq!(
            suffix_for_hash(&[393934927, 2789570333, 0, 0, 0]),
            "1691937631006717725"
        );
        assert_eq!(
            hash_hex(&[1, 0xffffffff, 0, 0, 0x10]),
            "00000001ffffffff000000000000000000000010"
        );
    }

    #[test]
    fn tokens_in_text() {
        let t = b"call f.llvm.12\n jmp g.llvm.x .llvm.3";
        assert_eq!(suffix_tokens(t), vec![("12", 6), ("3", 29)]);
    }

    /// The token is found wherever it stands, with digits after it or
    /// not, and nowhere else.
    #[test]
    fn the_token_is_found_anywhere() {
        for (name, has) in [
            ("f.llvm.123", true),
            ("f.llvm.", true),
            (".llvm.x", true),
            ("a.b.llvm.1.c", true),
            ("f.llvm", false),
            ("fllvm.1", false),
            ("f.llv.m.1", false),
            ("", false),
            ("api_1_2", false),
        ] {
            assert_eq!(has_token(name.as_bytes()), has, "{name}");
        }
    }

    /// Digits counted a word at a time are those counted one by one, on
    /// names ending in digits after bytes next to them in ASCII and bytes
    /// that carry or borrow across a word.
    #[test]
    fn trailing_digits_are_counted_as_one_by_one() {
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        // Digits, their neighbours in ASCII, and bytes that carry or
        // borrow across a 64-bit word's bytes.
        let alphabet = b"0123456789/:\x00\x2f\x3a\x7f\x80\xb9\xba\xcf\xff.";
        for _ in 0..50_000 {
            let len = (next() % 40) as usize;
            let digits_from = (next() % (len as u64 + 1)) as usize;
            let name: Vec<u8> = (0..len)
                .map(|i| {
                    if i >= digits_from && next() % 16 != 0 {
                        b'0' + (next() % 10) as u8
                    } else {
                        alphabet[(next() % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let one_by_one = name.iter().rev().take_while(|b| b.is_ascii_digit()).count();
            assert_eq!(trailing_digits(&name), one_by_one, "{name:?}");
        }
    }

    /// The quick way for names that end with their suffix gives what the
    /// search gives, on names made of the token's pieces and digits.
    #[test]
    fn quick_parse_agrees_with_the_search() {
        let pieces: [&[u8]; 10] = [
            b".llvm.",
            b".llvm",
            b"llvm.",
            b".",
            b"1",
            b"42",
            b"x",
            b".exit",
            b"12345678",
            b"9876543210987654321",
        ];
        let mut next = crate::testing::xorshift(0x3c6e_f372_fe94_f82b);
        let mut promoted = 0;
        for _ in 0..20_000 {
            let name: Vec<u8> = (0..next() % 7)
                .flat_map(|_| pieces[(next() % 10) as usize].iter().copied())
                .collect();
            let got = PromotedName::parse(&name);
            assert_eq!(
                got,
                PromotedName::search(&name),
                "{:?}",
                String::from_utf8_lossy(&name)
            );
            promoted += usize::from(got.is_some_and(|p| p.tail.is_empty()));
        }
        assert!(promoted > 500, "{promoted}");
    }
}
