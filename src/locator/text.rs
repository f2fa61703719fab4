//! Text matching for the fuzzy name search: pinyin keys, query normalization, match classes.
//!
//! Every name gets two ASCII keys: its full toneless pinyin ("yuzhongqujiefangbei…") and its
//! pinyin initials ("yzqjfb…"). A Chinese query is matched against the name's characters and,
//! through its own pinyin, against the full-pinyin key (so a homophone typo like 解放杯 still
//! finds 解放碑). A Latin query is matched against both keys; where the last syllable is not
//! finished yet ("jiefangb"), or two letters are swapped ("jeifangbei", "jbf"), it still
//! matches, ranked lower.

use pinyin::ToPinyin;

/// Readings the dictionary's first choice gets wrong in place and bank names.
fn syllable(c: char) -> Option<&'static str> {
    match c {
        '重' => Some("chong"), // 重庆
        '长' => Some("chang"), // 长寿
        '行' => Some("hang"),  // 银行
        '都' => Some("du"),    // 丰都
        _ => c.to_pinyin().map(|p| p.plain()),
    }
}

/// The ASCII search keys of one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinyinKeys {
    /// Toneless pinyin of every character, concatenated; Latin letters and digits kept.
    pub full: String,
    /// First letter of each character's pinyin; Latin letters and digits kept.
    pub initials: String,
    /// Bit `i` set: a syllable (or a kept letter or digit) of `full` ends before byte `i`.
    /// A bitset rather than offsets so the check per candidate is one load.
    syllable_ends: Box<[u64]>,
}

impl PinyinKeys {
    /// Whether a syllable of [`PinyinKeys::full`] ends just before byte `at` (so a match
    /// ending there has no unfinished last syllable).
    pub fn ends_syllable(&self, at: usize) -> bool {
        self.syllable_ends
            .get(at / 64)
            .is_some_and(|word| (word >> (at % 64)) & 1 == 1)
    }

    /// The byte offsets in [`PinyinKeys::full`] where a syllable ends, ascending.
    pub fn syllable_ends(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.syllable_ends.len() * 64).filter(|&at| self.ends_syllable(at))
    }
}

/// Computes the keys of a name (lower-case ASCII only).
pub fn pinyin_keys(name: &str) -> PinyinKeys {
    let mut keys = PinyinKeys::default();
    let mut ends: Vec<u64> = Vec::new();
    for c in name.chars() {
        if let Some(reading) = syllable(c) {
            keys.full.push_str(reading);
            if let Some(first) = reading.chars().next() {
                keys.initials.push(first);
            }
        } else if c.is_ascii_alphanumeric() {
            let c = c.to_ascii_lowercase();
            keys.full.push(c);
            keys.initials.push(c);
        } else {
            continue;
        }
        let at = keys.full.len();
        if ends.len() <= at / 64 {
            ends.resize(at / 64 + 1, 0);
        }
        ends[at / 64] |= 1 << (at % 64);
    }
    keys.syllable_ends = ends.into_boxed_slice();
    // Kept for every point of the catalogue: no growth slack.
    keys.full.shrink_to_fit();
    keys.initials.shrink_to_fit();
    keys
}

/// A query after normalization, ready to be matched against many points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedText {
    /// The query contains Chinese characters.
    Chinese {
        /// The query's characters (Chinese, letters, digits), punctuation and spaces removed.
        chars: Vec<char>,
        /// The query's full pinyin, for homophone matches.
        pinyin: String,
    },
    /// A Latin query: full pinyin or initials (lower-case letters and digits).
    Latin(String),
}

impl PreparedText {
    /// Normalizes a query; `None` when nothing searchable is left.
    pub fn new(query: &str) -> Option<PreparedText> {
        let kept: Vec<char> = query
            .chars()
            .filter(|c| c.is_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if kept.is_empty() {
            return None;
        }
        if kept.iter().all(|c| c.is_ascii_alphanumeric()) {
            return Some(PreparedText::Latin(kept.into_iter().collect()));
        }
        let text: String = kept.iter().collect();
        let pinyin = pinyin_keys(&text).full;
        Some(PreparedText::Chinese {
            chars: kept,
            pinyin,
        })
    }
}

/// How well a name matches. The numeric value is the hit's score; hits of one class are
/// ranked by distance (a prefix is deliberately not better than a match inside the name:
/// "渝中区解放碑街道…" and "解放碑街道…社区…" are equally good answers to 解放碑).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchClass {
    /// ≤ 1 edit (a wrong, missing or extra character or letter); needs ≥ 3 characters or ≥ 6 letters.
    Typo = 40,
    /// The query with two adjacent letters swapped back appears in the full pinyin (≥ 6
    /// letters: "jeifangbei") or in the initials (≥ 3 letters: "jbf"). Above [`Typo`]: a swap
    /// is the commonest slip on a keyboard and keeps every letter the resident meant.
    ///
    /// [`Typo`]: MatchClass::Typo
    Swapped = 45,
    /// The query's pinyin appears in the name's pinyin (a homophone typo); ≥ 2 characters.
    Homophone = 50,
    /// All the query's characters appear in order ("解放碑服务站").
    NameInOrder = 60,
    /// The query's letters appear in the initials ("jfb"); ≥ 2 letters.
    Initials = 65,
    /// The query's letters appear in the full pinyin, but only ending inside a syllable: the
    /// resident has not finished typing the last one ("jiefangb"); ≥ 3 letters.
    PinyinPrefix = 68,
    /// The query's letters appear in the full pinyin ending where a syllable ends
    /// ("jiefangbei", "jiefang"); ≥ 3 letters.
    FullPinyin = 70,
    /// The name contains the query.
    NameContains = 80,
    /// The name is the query.
    NameExact = 100,
}

impl MatchClass {
    pub fn score(self) -> f64 {
        f64::from(self as u8)
    }
}

/// The smallest number of letters a Latin query needs to be matched against the full pinyin.
pub const MIN_FULL_PINYIN_LEN: usize = 3;
/// The smallest number of letters a Latin query needs to be matched against the initials.
pub const MIN_INITIALS_LEN: usize = 2;
/// The smallest Chinese query (characters) for which a one-character typo is tolerated.
pub const MIN_CHINESE_TYPO_LEN: usize = 3;
/// The smallest Latin query (letters) for which a one-letter typo, or two swapped letters, in
/// the full pinyin is tolerated.
pub const MIN_LATIN_TYPO_LEN: usize = 6;
/// The smallest Latin query for which two swapped initials are tolerated (with 2, every query
/// would also find its reverse).
pub const MIN_INITIALS_SWAP_LEN: usize = 3;

/// The best class a point's name reaches for the query, or `None`. This is the definition the
/// index's candidate generation must agree with (tests compare them on every point).
pub fn classify(query: &PreparedText, name: &str, keys: &PinyinKeys) -> Option<MatchClass> {
    match query {
        PreparedText::Chinese { chars, pinyin } => {
            let text: String = chars.iter().collect();
            if name == text {
                return Some(MatchClass::NameExact);
            }
            if name.contains(&text) {
                return Some(MatchClass::NameContains);
            }
            if chars.len() >= 2 && is_subsequence(chars.iter().copied(), name.chars()) {
                return Some(MatchClass::NameInOrder);
            }
            if chars.len() >= 2
                && pinyin.len() >= MIN_FULL_PINYIN_LEN
                && keys.full.contains(pinyin.as_str())
            {
                return Some(MatchClass::Homophone);
            }
            if chars.len() >= MIN_CHINESE_TYPO_LEN && chars_within_one_edit(chars, name) {
                return Some(MatchClass::Typo);
            }
            None
        }
        PreparedText::Latin(letters) => {
            let m = letters.len();
            // Both pinyin classes rank above the initials.
            if m >= MIN_FULL_PINYIN_LEN && keys.full.contains(letters.as_str()) {
                return Some(full_pinyin_class(letters, keys));
            }
            if m >= MIN_INITIALS_LEN && keys.initials.contains(letters.as_str()) {
                return Some(MatchClass::Initials);
            }
            let slip = if m >= MIN_LATIN_TYPO_LEN {
                latin_slip(letters, &keys.full)
            } else {
                None
            };
            if slip == Some(MatchClass::Swapped)
                || (m >= MIN_INITIALS_SWAP_LEN
                    && contains_with_one_swap(letters.as_bytes(), keys.initials.as_bytes()))
            {
                return Some(MatchClass::Swapped);
            }
            slip
        }
    }
}

/// For `letters` that the full pinyin contains: [`MatchClass::FullPinyin`] when some
/// occurrence ends where a syllable ends, else [`MatchClass::PinyinPrefix`] (the resident is
/// still typing the last syllable). Looks only at the ~20 syllable ends, not at every offset.
fn full_pinyin_class(letters: &str, keys: &PinyinKeys) -> MatchClass {
    let (full, letters) = (keys.full.as_bytes(), letters.as_bytes());
    let Some(&last) = letters.last() else {
        return MatchClass::PinyinPrefix;
    };
    for (w, &word) in keys.syllable_ends.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let end = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let whole = end >= letters.len()
                && full.get(end - 1) == Some(&last)
                && full.get(end - letters.len()..end) == Some(letters);
            if whole {
                return MatchClass::FullPinyin;
            }
        }
    }
    MatchClass::PinyinPrefix
}

/// Whether `text` holds `pattern` with exactly one pair of adjacent, different letters
/// swapped. No allocation, one pass: such a window starts with `p0 p1` (the swap is further
/// on), `p1 p0` (it is the first pair) or `p0 p2` (the second), and only those are compared.
pub fn contains_with_one_swap(pattern: &[u8], text: &[u8]) -> bool {
    let m = pattern.len();
    if m < 2 || text.len() < m {
        return false;
    }
    let (p0, p1, p2) = (pattern[0], pattern[1], pattern.get(2).copied());
    (0..=text.len() - m).any(|at| {
        let (x, y) = (text[at], text[at + 1]);
        let may_start = (x == p0 && (y == p1 || Some(y) == p2)) || (x == p1 && y == p0);
        may_start && one_swap_apart(pattern, &text[at..at + m])
    })
}

/// Whether `window` is `pattern` with one pair of adjacent, different letters swapped.
fn one_swap_apart(pattern: &[u8], window: &[u8]) -> bool {
    let Some(j) = pattern.iter().zip(window).position(|(a, b)| a != b) else {
        return false;
    };
    j + 1 < pattern.len()
        && window.len() == pattern.len()
        && window[j] == pattern[j + 1]
        && window[j + 1] == pattern[j]
        && window[j + 2..] == pattern[j + 2..]
}

fn is_subsequence(
    needle: impl Iterator<Item = char>,
    mut haystack: impl Iterator<Item = char>,
) -> bool {
    let mut needle = needle.peekable();
    while let Some(&wanted) = needle.peek() {
        match haystack.next() {
            Some(c) if c == wanted => {
                needle.next();
            }
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// [`within_one_edit_of_a_substring`] over a name's characters, with the same half-window
/// shortcut as [`latin_slip`]; names are decoded into a stack buffer.
pub fn chars_within_one_edit(pattern: &[char], name: &str) -> bool {
    let mut buffer = ['\0'; 64];
    let mut len = 0;
    for c in name.chars() {
        if len == buffer.len() {
            return within_one_edit_of_a_substring(pattern, name.chars());
        }
        buffer[len] = c;
        len += 1;
    }
    let text = &buffer[..len];
    let m = pattern.len();
    if m < 2 {
        return within_one_edit_of_a_substring(pattern, text.iter().copied());
    }
    let (left, right) = pattern.split_at(m / 2);
    for (half, offset) in [(left, 0), (right, m / 2)] {
        for at in 0..(len + 1).saturating_sub(half.len()) {
            if &text[at..at + half.len()] == half {
                let start = at.saturating_sub(offset + 1);
                let end = (at + (m - offset) + 1).min(len);
                if within_one_edit_of_a_substring(pattern, text[start..end].iter().copied()) {
                    return true;
                }
            }
        }
    }
    false
}

/// The slips forgiven in the full pinyin, the better one first: two adjacent letters swapped
/// ([`MatchClass::Swapped`]), else one edit ([`MatchClass::Typo`], see
/// [`within_one_edit_of_a_substring`]). Fast for ASCII, since the walk asks it of every point
/// it passes: with `h = m / 2`, a swap at `(j, j + 1)` leaves `pattern[..h - 1]` intact when
/// `j >= h - 1` and `pattern[h..]` when `j < h - 1`, and one edit leaves `pattern[..h]` or
/// `pattern[h..]` intact; so both checks run only where those pieces occur, the DP in a
/// window around each.
pub fn latin_slip(pattern: &str, text: &str) -> Option<MatchClass> {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let m = p.len();
    let typo = |within: bool| within.then_some(MatchClass::Typo);
    if m < 2 {
        return typo(within_one_edit_of_a_substring(p, t.iter().copied()));
    }
    if !pattern.is_ascii() || !text.is_ascii() {
        if t.windows(m).any(|w| one_swap_apart(p, w)) {
            return Some(MatchClass::Swapped);
        }
        return typo(within_one_edit_of_a_substring(p, t.iter().copied()));
    }
    let h = m / 2;
    let swapped_at = |start: usize| {
        t.get(start..start + m)
            .is_some_and(|w| one_swap_apart(p, w))
    };
    // The DP over the text around where the pattern would start if `half` were intact.
    let edit_near = |start: usize| {
        let from = start.saturating_sub(1);
        let to = (start + m + 1).min(t.len());
        t.get(from..to)
            .is_some_and(|window| within_one_edit_of_a_substring(p, window.iter().copied()))
    };
    let mut edit = false;
    for at in occurrences(text, &pattern[..h - 1]) {
        if swapped_at(at) {
            return Some(MatchClass::Swapped);
        }
        // Where the whole left half occurs too.
        edit = edit || (t.get(at + h - 1) == Some(&p[h - 1]) && edit_near(at));
    }
    for at in occurrences(text, &pattern[h..]) {
        // A match of the right half can only start the pattern h letters earlier, or one
        // earlier or later after an edit on the left (the DP window's slack covers that).
        if at >= h && swapped_at(at - h) {
            return Some(MatchClass::Swapped);
        }
        edit = edit || edit_near(at.saturating_sub(h));
    }
    typo(edit)
}

/// Where `needle` starts in `text`, overlaps included (an empty needle: everywhere).
fn occurrences<'a>(text: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + text.get(from..)?.find(needle)?;
        from = at + 1;
        Some(at)
    })
}

/// Whether some substring of `text` is within edit distance 1 of `pattern` (Sellers' DP:
/// the pattern may start anywhere in the text for free).
pub fn within_one_edit_of_a_substring<T: PartialEq + Copy>(
    pattern: &[T],
    text: impl IntoIterator<Item = T>,
) -> bool {
    approximate_substring_distance(pattern, text) <= 1
}

/// The smallest edit distance between `pattern` and any substring of `text`.
pub fn approximate_substring_distance<T: PartialEq + Copy>(
    pattern: &[T],
    text: impl IntoIterator<Item = T>,
) -> usize {
    let m = pattern.len();
    // Queries are short: keep the DP column on the stack (this runs once per candidate).
    let mut stack = [0usize; 33];
    let mut heap = Vec::new();
    let column: &mut [usize] = if m < stack.len() {
        &mut stack[..=m]
    } else {
        heap.resize(m + 1, 0);
        &mut heap
    };
    for (i, cell) in column.iter_mut().enumerate() {
        *cell = i;
    }
    let mut best = m;
    for t in text {
        let mut diagonal = column[0];
        column[0] = 0;
        for i in 1..=m {
            let substitute = diagonal + usize::from(pattern[i - 1] != t);
            let next = substitute.min(column[i] + 1).min(column[i - 1] + 1);
            diagonal = column[i];
            column[i] = next;
        }
        best = best.min(column[m]);
        if best == 0 {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(query: &str, name: &str) -> Option<MatchClass> {
        let query = PreparedText::new(query).expect("searchable");
        classify(&query, name, &pinyin_keys(name))
    }

    #[test]
    fn keys_use_place_readings() {
        let keys = pinyin_keys("重庆长寿区银行A1");
        assert_eq!(keys.full, "chongqingchangshouquyinhanga1");
        assert_eq!(keys.initials, "cqcsqyha1");
    }

    #[test]
    fn each_kind_of_query_gets_its_class() {
        let name = "渝中区解放碑街道人社服务站";
        assert_eq!(class(name, name), Some(MatchClass::NameExact));
        assert_eq!(class("渝中区解放", name), Some(MatchClass::NameContains));
        assert_eq!(class("解放碑", name), Some(MatchClass::NameContains));
        assert_eq!(class("解放碑服务站", name), Some(MatchClass::NameInOrder));
        assert_eq!(class("解放杯", name), Some(MatchClass::Homophone));
        assert_eq!(class("解放牌", name), Some(MatchClass::Typo));
        assert_eq!(class("jiefangbei", name), Some(MatchClass::FullPinyin));
        assert_eq!(class("Yu Zhong", name), Some(MatchClass::FullPinyin));
        assert_eq!(class("jfb", name), Some(MatchClass::Initials));
        assert_eq!(class("yzq", name), Some(MatchClass::Initials));
        assert_eq!(class("jiefangbai", name), Some(MatchClass::Typo));
        assert_eq!(class("朝天门", name), None);
        assert_eq!(class("xyz", name), None);
        assert_eq!(PreparedText::new(" ，。 "), None);
    }

    #[test]
    fn keys_know_where_syllables_end() {
        let keys = pinyin_keys("重庆·A1");
        assert_eq!(keys.full, "chongqinga1");
        let ends: Vec<usize> = keys.syllable_ends().collect();
        assert_eq!(ends, vec![5, 9, 10, 11], "chong|qing|a|1|");
        assert!(!keys.ends_syllable(0) && !keys.ends_syllable(7) && !keys.ends_syllable(500));
        assert!(keys.ends_syllable(11));
    }

    #[test]
    fn an_unfinished_last_syllable_ranks_below_whole_syllables() {
        let name = "渝中区解放碑街道人社服务站";
        for typed in [
            "jiefangb",
            "jiefangbe",
            "jiefang be",
            "jief",
            "yuzhongqujiefangbeijied",
        ] {
            assert_eq!(
                class(typed, name),
                Some(MatchClass::PinyinPrefix),
                "{typed}"
            );
        }
        for whole in [
            "jiefang",
            "jiefangbei",
            "jie fang bei",
            "fuwuzhan",
            "angbei",
        ] {
            assert_eq!(class(whole, name), Some(MatchClass::FullPinyin), "{whole}");
        }
        // "xian" is whole in 西安 (xi|an) and unfinished in 香山 (xiang|shan).
        assert_eq!(class("xian", "西安"), Some(MatchClass::FullPinyin));
        assert_eq!(class("xian", "香山"), Some(MatchClass::PinyinPrefix));
        // An occurrence that ends on a syllable wins over an earlier unfinished one.
        assert_eq!(class("xian", "香山西安"), Some(MatchClass::FullPinyin));
        assert!(MatchClass::FullPinyin > MatchClass::PinyinPrefix);
        assert!(MatchClass::PinyinPrefix > MatchClass::Initials);
    }

    #[test]
    fn two_swapped_letters_are_forgiven_below_every_exact_class() {
        let name = "渝中区解放碑街道人社服务站";
        assert_eq!(class("jeifangbei", name), Some(MatchClass::Swapped));
        assert_eq!(class("jiefangbie", name), Some(MatchClass::Swapped));
        assert_eq!(class("ijefangbei", name), Some(MatchClass::Swapped));
        assert_eq!(
            class("jeifangb", name),
            Some(MatchClass::Swapped),
            "and unfinished"
        );
        assert_eq!(class("jbf", name), Some(MatchClass::Swapped));
        assert_eq!(class("fjb", name), Some(MatchClass::Swapped));
        assert_eq!(class("bjf", name), None, "a rotation is no swap");
        assert_eq!(class("yzqjbf", name), Some(MatchClass::Swapped));
        // Too short to forgive: two initials reversed, or a swap in 5 pinyin letters.
        assert_eq!(class("fj", name), None);
        assert_eq!(class("jeifa", name), None);
        // Two swaps, or a swap and a typo, are too many.
        assert_eq!(class("jeifnagbei", name), None);
        assert!(MatchClass::Swapped > MatchClass::Typo);
        assert!(MatchClass::Swapped < MatchClass::Homophone);
    }

    #[test]
    fn the_swap_check_needs_exactly_one_adjacent_swap() {
        let check = |p: &str, t: &str| contains_with_one_swap(p.as_bytes(), t.as_bytes());
        assert!(check("bacd", "xxabcdxx"));
        assert!(check("abdc", "abcd"));
        assert!(!check("abcd", "abcd"), "no swap at all");
        assert!(!check("acbd", "abdc"));
        assert!(!check("badc", "abcd"), "two swaps");
        assert!(!check("cab", "abc"), "a rotation is no swap");
        assert!(!check("ab", "a"));
        assert!(!check("", "abc"));
    }

    /// Every string that differs from `pattern` by one swap of two different adjacent letters.
    fn swaps(pattern: &[u8]) -> Vec<Vec<u8>> {
        (0..pattern.len().saturating_sub(1))
            .filter(|&i| pattern[i] != pattern[i + 1])
            .map(|i| {
                let mut variant = pattern.to_vec();
                variant.swap(i, i + 1);
                variant
            })
            .collect()
    }

    fn holds(text: &[u8], needle: &[u8]) -> bool {
        text.windows(needle.len()).any(|w| w == needle)
    }

    proptest::proptest! {
        #[test]
        fn the_swap_check_agrees_with_trying_every_swap(
            pattern in "[a-d]{2,7}",
            text in "[a-d]{0,30}",
        ) {
            let naive = swaps(pattern.as_bytes())
                .iter()
                .any(|variant| holds(text.as_bytes(), variant));
            proptest::prop_assert_eq!(
                contains_with_one_swap(pattern.as_bytes(), text.as_bytes()),
                naive
            );
        }
    }

    /// The Latin classes from their definitions, by brute force: syllables one by one,
    /// every swap variant spelled out.
    fn reference_latin_class(letters: &str, name: &str) -> Option<MatchClass> {
        let mut full = String::new();
        let mut initials = String::new();
        let mut ends = vec![];
        for c in name.chars() {
            let reading = match syllable(c) {
                Some(reading) => reading.to_string(),
                None if c.is_ascii_alphanumeric() => c.to_ascii_lowercase().to_string(),
                None => continue,
            };
            full.push_str(&reading);
            initials.push_str(&reading[..1]);
            ends.push(full.len());
        }
        let (full, initials, bytes) = (full.as_bytes(), initials.as_bytes(), letters.as_bytes());
        let m = bytes.len();
        let occurrences: Vec<usize> = (0..(full.len() + 1).saturating_sub(m))
            .filter(|&at| &full[at..at + m] == bytes)
            .collect();
        if m >= MIN_FULL_PINYIN_LEN && !occurrences.is_empty() {
            return Some(if occurrences.iter().any(|at| ends.contains(&(at + m))) {
                MatchClass::FullPinyin
            } else {
                MatchClass::PinyinPrefix
            });
        }
        if m >= MIN_INITIALS_LEN && holds(initials, bytes) {
            return Some(MatchClass::Initials);
        }
        let swapped = |text: &[u8]| swaps(bytes).iter().any(|v| holds(text, v));
        if (m >= MIN_LATIN_TYPO_LEN && swapped(full))
            || (m >= MIN_INITIALS_SWAP_LEN && swapped(initials))
        {
            return Some(MatchClass::Swapped);
        }
        if m >= MIN_LATIN_TYPO_LEN
            && approximate_substring_distance(bytes, full.iter().copied()) <= 1
        {
            return Some(MatchClass::Typo);
        }
        None
    }

    proptest::proptest! {
        #[test]
        fn latin_classes_agree_with_their_reference(
            name in "[解放碑西安香山街道重庆长A1]{1,8}",
            start in 0usize..60,
            len in 0usize..14,
            from_initials in proptest::bool::ANY,
            swap_at in proptest::option::of(0usize..12),
        ) {
            let keys = pinyin_keys(&name);
            let source = if from_initials { &keys.initials } else { &keys.full };
            let start = start.min(source.len());
            let end = (start + len).min(source.len());
            let mut query: Vec<u8> = source.as_bytes()[start..end].to_vec();
            if let Some(at) = swap_at {
                if at + 1 < query.len() {
                    query.swap(at, at + 1);
                }
            }
            let query = String::from_utf8(query).expect("ASCII");
            if let Some(prepared) = PreparedText::new(&query) {
                proptest::prop_assert_eq!(
                    classify(&prepared, &name, &keys),
                    reference_latin_class(&query, &name),
                    "query {:?} name {:?}", query, name
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_windowed_latin_check_agrees_with_every_swap_and_the_full_dp(
            pattern in "[a-e]{1,9}",
            text in "[a-e]{0,30}",
        ) {
            let expected = if swaps(pattern.as_bytes())
                .iter()
                .any(|variant| holds(text.as_bytes(), variant))
            {
                Some(MatchClass::Swapped)
            } else if within_one_edit_of_a_substring(pattern.as_bytes(), text.bytes()) {
                Some(MatchClass::Typo)
            } else {
                None
            };
            proptest::prop_assert_eq!(latin_slip(&pattern, &text), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_windowed_char_check_agrees_with_the_full_dp(
            pattern in "[甲乙丙丁]{2,6}",
            text in "[甲乙丙丁戊]{0,70}",
        ) {
            let pattern: Vec<char> = pattern.chars().collect();
            proptest::prop_assert_eq!(
                chars_within_one_edit(&pattern, &text),
                within_one_edit_of_a_substring(&pattern, text.chars())
            );
        }
    }

    #[test]
    fn approximate_distance_counts_edits() {
        assert_eq!(
            approximate_substring_distance(b"abc", b"xxabcxx".iter().copied()),
            0
        );
        assert_eq!(
            approximate_substring_distance(b"abd", b"xxabcxx".iter().copied()),
            1
        );
        assert_eq!(
            approximate_substring_distance(b"abxc", b"xxabcxx".iter().copied()),
            1
        );
        assert_eq!(
            approximate_substring_distance(b"zzz", b"abc".iter().copied()),
            3
        );
    }
}
