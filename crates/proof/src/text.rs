//! Glyph lookup, measuring and line breaking with the face's own advances. No shaping: the
//! proof's scripts (Han, Latin, digits) need none, and measuring and drawing use the same
//! advances, so what is measured is what is printed.

use krilla::text::{GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

pub(crate) struct Metrics<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    glyphs: GlyphMetrics<'a>,
    upem: f32,
}

impl<'a> Metrics<'a> {
    pub(crate) fn new(data: &'a [u8], index: u32) -> Option<Metrics<'a>> {
        let font = FontRef::from_index(data, index).ok()?;
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        if upem <= 0.0 {
            return None;
        }
        let charmap = font.charmap();
        // A face without a Unicode cmap would print every character as .notdef.
        charmap.map('0')?;
        Some(Metrics {
            charmap,
            glyphs: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem,
        })
    }

    /// The glyph and its advance in ems; a character the face lacks is its .notdef.
    fn glyph(&self, c: char) -> (u32, f32) {
        let gid = self.charmap.map(c).unwrap_or_default();
        let advance = self.glyphs.advance_width(gid).unwrap_or(0.0) / self.upem;
        (gid.to_u32(), advance)
    }

    pub(crate) fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    pub(crate) fn glyphs(&self, s: &str) -> Vec<KrillaGlyph> {
        s.char_indices()
            .map(|(i, c)| {
                let (gid, advance) = self.glyph(c);
                KrillaGlyph::new(
                    GlyphId::new(gid),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }

    /// Greedy lines no wider than `max` points: breaks between Han characters, at spaces
    /// between Latin words, and inside a word only when the word alone is too wide.
    pub(crate) fn wrap(&self, s: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for token in tokens(s) {
            let candidate = format!("{line}{token}");
            if line.is_empty() || self.width(candidate.trim_end(), size) <= max {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = token.trim_start().to_string();
            }
            // A token wider than the column on its own: cut it by characters.
            while self.width(line.trim_end(), size) > max && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    let next = format!("{head}{c}");
                    if !head.is_empty() && self.width(&next, size) > max {
                        break;
                    }
                    head = next;
                }
                line = line[head.len()..].to_string();
                lines.push(head);
            }
        }
        if !line.trim().is_empty() || lines.is_empty() {
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

/// Break opportunities: each wide (CJK) character alone, Latin words with their trailing
/// spaces, and CJK punctuation kept with the character before it.
fn tokens(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        if is_opening(c) {
            // Kept with what follows: a line must not end with an opening bracket.
            if !word.is_empty() && !word.ends_with(is_opening) {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        } else if is_wide(c) {
            if word.ends_with(is_opening) {
                word.push(c);
                out.push(std::mem::take(&mut word));
                continue;
            }
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if is_closing(c) {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                    continue;
                }
            }
            out.push(c.to_string());
        } else if c == ' ' {
            word.push(c);
            out.push(std::mem::take(&mut word));
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Punctuation a line must not end with.
fn is_opening(c: char) -> bool {
    matches!(c, '（' | '「' | '『' | '“' | '《' | '(')
}

/// Punctuation a line must not start with.
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '、' | '；' | '：' | '）' | '」' | '』' | '！' | '？'
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::tokens;

    #[test]
    fn tokens_split_han_and_words() {
        assert_eq!(
            tokens("重庆，市 ABC Co., Ltd"),
            ["重", "庆，", "市", " ", "ABC ", "Co., ", "Ltd"]
        );
        assert_eq!(tokens("司（原重）"), ["司", "（原", "重）"]);
        assert_eq!(tokens("a (b)"), ["a ", "(b)"]);
    }
}
