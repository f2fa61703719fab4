//! Text matching for the fuzzy name search: pinyin keys, query normalization, match classes.
//!
//! Every name gets two ASCII keys: its full toneless pinyin ("yuzhongqujiefangbei…") and its
//! pinyin initials ("yzqjfb…"). A Chinese query is matched against the name's characters and,
//! through its own pinyin, against the full-pinyin key (so a homophone typo like 解放杯 still
//! finds 解放碑). A Latin query is matched against both keys.

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
}

/// Computes the keys of a name (lower-case ASCII only).
pub fn pinyin_keys(name: &str) -> PinyinKeys {
    let mut keys = PinyinKeys::default();
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
        }
    }
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
    /// The query's pinyin appears in the name's pinyin (a homophone typo); ≥ 2 characters.
    Homophone = 50,
    /// All the query's characters appear in order ("解放碑服务站").
    NameInOrder = 60,
    /// The query's letters appear in the initials ("jfb"); ≥ 2 letters.
    Initials = 65,
    /// The query's letters appear in the full pinyin ("jiefangbei"); ≥ 3 letters.
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
/// The smallest Latin query (letters) for which a one-letter typo is tolerated.
pub const MIN_LATIN_TYPO_LEN: usize = 6;

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
            if letters.len() >= MIN_FULL_PINYIN_LEN && keys.full.contains(letters.as_str()) {
                return Some(MatchClass::FullPinyin);
            }
            if letters.len() >= MIN_INITIALS_LEN && keys.initials.contains(letters.as_str()) {
                return Some(MatchClass::Initials);
            }
            if letters.len() >= MIN_LATIN_TYPO_LEN && latin_within_one_edit(letters, &keys.full) {
                return Some(MatchClass::Typo);
            }
            None
        }
    }
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
/// shortcut as [`latin_within_one_edit`]; names are decoded into a stack buffer.
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

/// [`within_one_edit_of_a_substring`] for ASCII, fast: one edit leaves one half of the
/// pattern intact, so the DP only runs in a window around each occurrence of either half.
pub fn latin_within_one_edit(pattern: &str, text: &str) -> bool {
    let m = pattern.len();
    if m < 2 || !pattern.is_ascii() || !text.is_ascii() {
        return within_one_edit_of_a_substring(pattern.as_bytes(), text.bytes());
    }
    let (left, right) = pattern.split_at(m / 2);
    for (half, offset) in [(left, 0), (right, m / 2)] {
        let mut from = 0;
        while let Some(found) = text[from..].find(half) {
            let at = from + found;
            let start = at.saturating_sub(offset + 1);
            let end = (at + (m - offset) + 1).min(text.len());
            if within_one_edit_of_a_substring(
                pattern.as_bytes(),
                text.as_bytes()[start..end].iter().copied(),
            ) {
                return true;
            }
            from = at + 1;
        }
    }
    false
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
        assert_eq!(class("jiefangbie", name), Some(MatchClass::Typo));
        assert_eq!(class("朝天门", name), None);
        assert_eq!(class("xyz", name), None);
        assert_eq!(PreparedText::new(" ，。 "), None);
    }

    proptest::proptest! {
        #[test]
        fn the_windowed_latin_check_agrees_with_the_full_dp(
            pattern in "[a-e]{2,9}",
            text in "[a-e]{0,30}",
        ) {
            proptest::prop_assert_eq!(
                latin_within_one_edit(&pattern, &text),
                within_one_edit_of_a_substring(pattern.as_bytes(), text.bytes())
            );
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
