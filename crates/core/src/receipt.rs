//! Receipt content: what a resident takes home, independent of any device.
//!
//! The same [`Receipt`] lays out into [`ReceiptBlock`]s that the ESC/POS encoder puts on paper and
//! that [`Receipt::preview_lines`] turns into text lines for the on-screen preview, so screen and
//! paper can never disagree. Labels arrive already translated (the i18n layer produces them) and
//! personal data arrives already masked: this module never sees a full name or ID number, and
//! never reads the clock.

use std::fmt;

/// The national human-resources and social-security hotline printed on every receipt.
pub const HOTLINE: &str = "12333";

/// Already-translated label strings, one per receipt field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLabels {
    /// The heading, e.g. "重庆人社自助服务".
    pub title: String,
    pub terminal: String,
    pub location: String,
    pub service: String,
    pub time: String,
    pub holder: String,
    pub id_number: String,
    pub result: String,
    pub reference: String,
    /// The line under the QR code, e.g. "扫码核验本凭证".
    pub verify_hint: String,
    pub hotline: String,
}

/// The reference a resident quotes when calling about a transaction (流水号): the terminal
/// journal's sequence number, where known, and the operation's serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptReference {
    pub journal_sequence: Option<u64>,
    pub backend_serial: String,
}

impl fmt::Display for ReceiptReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.journal_sequence {
            Some(sequence) => write!(f, "{sequence:08}-{}", self.backend_serial),
            None => f.write_str(&self.backend_serial),
        }
    }
}

/// One label/value row added by a flow, e.g. an address slip from the service-point finder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub label: String,
    pub value: String,
}

/// Everything printed on one receipt. Optional parts are left out of the layout when absent
/// (an address slip has no holder and no result).
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    pub labels: ReceiptLabels,
    pub terminal_id: String,
    pub location: String,
    pub service: String,
    /// The local time as the shell formatted it, e.g. "2026-11-28 17:30:05".
    pub time: String,
    /// The holder's name, already masked by the caller (e.g. "张*").
    pub holder_masked: Option<String>,
    /// The ID number, already masked by the caller (e.g. "500103********1234").
    pub id_masked: Option<String>,
    /// The translated outcome, e.g. "办理成功".
    pub result: Option<String>,
    pub reference: Option<ReceiptReference>,
    pub verify_url: Option<String>,
    pub extra_lines: Vec<ReceiptLine>,
}

// Masked data is still personal data: keep it out of Debug output and therefore out of logs.
impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("terminal_id", &self.terminal_id)
            .field("service", &self.service)
            .field("time", &self.time)
            .field(
                "holder_masked",
                &self.holder_masked.as_ref().map(|_| "<hidden>"),
            )
            .field("id_masked", &self.id_masked.as_ref().map(|_| "<hidden>"))
            .field("result", &self.result)
            .field("reference", &self.reference)
            .field("extra_lines", &self.extra_lines.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Character magnification, 1–8 in each direction (ESC/POS `GS !`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSize {
    pub width: u8,
    pub height: u8,
}

impl TextSize {
    pub const NORMAL: TextSize = TextSize {
        width: 1,
        height: 1,
    };
    pub const DOUBLE: TextSize = TextSize {
        width: 2,
        height: 2,
    };
    pub const TALL: TextSize = TextSize {
        width: 1,
        height: 2,
    };
}

impl Default for TextSize {
    fn default() -> Self {
        TextSize::NORMAL
    }
}

/// Text style of one printed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    pub align: Align,
    pub size: TextSize,
    pub bold: bool,
}

/// One element of the paper layout. Text lines are already wrapped to the paper's width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptBlock {
    Line {
        text: String,
        style: TextStyle,
    },
    /// A horizontal rule across the full width.
    Rule,
    Qr {
        payload: String,
    },
    /// Blank paper, in text lines.
    Feed(u8),
}

/// Columns a character takes on a thermal printer: double-byte (GB18030) characters are full
/// width, ASCII is half width.
pub fn char_columns(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

/// Columns a string takes on paper.
pub fn text_columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// Breaks `text` into lines of at most `columns` columns, never splitting a character. Breaks at
/// the last space when an ASCII word would be cut; CJK text breaks anywhere. Control characters
/// are dropped and `¥` becomes `￥` (GBK has only the full-width sign), so the lines are exactly
/// what the paper shows.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    let printable =
        text.chars()
            .filter(|c| !c.is_control())
            .map(|c| if c == '\u{a5}' { '￥' } else { c });
    for c in printable {
        let width = char_columns(c);
        if used + width > columns {
            let carried = split_at_last_space(&mut current, c);
            lines.push(current.trim_end().to_string());
            current = carried;
            used = text_columns(&current);
            if c == ' ' && current.is_empty() {
                continue;
            }
        }
        current.push(c);
        used += width;
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current.trim_end().to_string());
    }
    lines
}

/// When the next character continues an ASCII word, moves that word's start to the next line
/// (if the line has a space to break at) and returns it.
fn split_at_last_space(current: &mut String, next: char) -> String {
    let continues_word = next.is_ascii_alphanumeric()
        && current
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !continues_word {
        return String::new();
    }
    match current.rfind(' ') {
        Some(index) if index > 0 => {
            let carried = current[index + 1..].to_string();
            current.truncate(index);
            carried
        }
        _ => String::new(),
    }
}

/// Pads a line so it sits where `align` says within `columns` (what the printer does with `ESC a`).
pub fn align_line(text: &str, align: Align, columns: usize) -> String {
    if text.is_empty() {
        return String::new();
    }
    let free = columns.saturating_sub(text_columns(text));
    let left = match align {
        Align::Left => 0,
        Align::Center => free / 2,
        Align::Right => free,
    };
    format!("{}{}", " ".repeat(left), text)
}

impl Receipt {
    /// The paper layout for a printer with `columns` normal-size columns.
    pub fn layout(&self, columns: usize) -> Vec<ReceiptBlock> {
        let mut blocks = Vec::new();
        let push_text = |blocks: &mut Vec<ReceiptBlock>, text: &str, style: TextStyle| {
            let usable = columns / usize::from(style.size.width.max(1));
            for line in wrap(text, usable) {
                blocks.push(ReceiptBlock::Line { text: line, style });
            }
        };
        let centered = |size, bold| TextStyle {
            align: Align::Center,
            size,
            bold,
        };
        push_text(
            &mut blocks,
            &self.labels.title,
            centered(TextSize::DOUBLE, true),
        );
        push_text(&mut blocks, &self.service, centered(TextSize::TALL, true));
        blocks.push(ReceiptBlock::Rule);

        let mut rows: Vec<(&str, String, bool)> = vec![
            (&self.labels.terminal, self.terminal_id.clone(), false),
            (&self.labels.location, self.location.clone(), false),
            (&self.labels.time, self.time.clone(), false),
        ];
        if let Some(holder) = &self.holder_masked {
            rows.push((&self.labels.holder, holder.clone(), false));
        }
        if let Some(id) = &self.id_masked {
            rows.push((&self.labels.id_number, id.clone(), false));
        }
        if let Some(result) = &self.result {
            rows.push((&self.labels.result, result.clone(), true));
        }
        if let Some(reference) = &self.reference {
            rows.push((&self.labels.reference, reference.to_string(), false));
        }
        for extra in &self.extra_lines {
            rows.push((&extra.label, extra.value.clone(), false));
        }
        for (label, value, bold) in rows {
            let style = TextStyle {
                bold,
                ..TextStyle::default()
            };
            push_text(&mut blocks, &format!("{label}: {value}"), style);
        }
        blocks.push(ReceiptBlock::Rule);

        if let Some(url) = &self.verify_url {
            blocks.push(ReceiptBlock::Qr {
                payload: url.clone(),
            });
            push_text(
                &mut blocks,
                &self.labels.verify_hint,
                centered(TextSize::NORMAL, false),
            );
        }
        push_text(
            &mut blocks,
            &format!("{} {HOTLINE}", self.labels.hotline),
            centered(TextSize::NORMAL, true),
        );
        blocks.push(ReceiptBlock::Feed(1));
        blocks
    }

    /// The receipt as text lines, laid out exactly as on paper `columns` columns wide; the UI
    /// shows these so the preview and the paper agree. A QR code appears as `[QR] <payload>`
    /// followed by the blank line the printer feeds after it.
    pub fn preview_lines(&self, columns: usize) -> Vec<String> {
        blocks_to_lines(&self.layout(columns), columns)
    }
}

/// Renders layout blocks to text lines; shared with the virtual printer's transcript so the two
/// can be compared line by line.
pub fn blocks_to_lines(blocks: &[ReceiptBlock], columns: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for block in blocks {
        match block {
            ReceiptBlock::Line { text, style } => {
                let usable = columns / usize::from(style.size.width.max(1));
                lines.push(align_line(text, style.align, usable));
            }
            ReceiptBlock::Rule => lines.push("-".repeat(columns)),
            ReceiptBlock::Qr { payload } => {
                // The printer feeds one line after a QR code.
                lines.push(format!("[QR] {payload}"));
                lines.push(String::new());
            }
            ReceiptBlock::Feed(n) => lines.extend((0..*n).map(|_| String::new())),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Receipt {
        Receipt {
            labels: ReceiptLabels {
                title: "重庆人社自助服务".into(),
                terminal: "终端".into(),
                location: "地点".into(),
                service: "业务".into(),
                time: "时间".into(),
                holder: "姓名".into(),
                id_number: "证件号码".into(),
                result: "结果".into(),
                reference: "流水号".into(),
                verify_hint: "扫码核验本凭证".into(),
                hotline: "咨询电话".into(),
            },
            terminal_id: "CQ-500103-0042".into(),
            location: "渝中区解放碑街道社区服务中心".into(),
            service: "社保缴费记录查询".into(),
            time: "2026-11-28 17:30:05".into(),
            holder_masked: Some("张*".into()),
            id_masked: Some("500103********1234".into()),
            result: Some("办理成功".into()),
            reference: Some(ReceiptReference {
                journal_sequence: Some(42),
                backend_serial: "BK20261128000917".into(),
            }),
            verify_url: Some("https://rs.cq.gov.cn/v/CQ-500103-0042/42".into()),
            extra_lines: vec![],
        }
    }

    #[test]
    fn cjk_takes_two_columns_and_wraps_without_splitting() {
        assert_eq!(text_columns("重庆ab"), 6);
        assert_eq!(wrap("重庆市渝中区", 5), vec!["重庆", "市渝", "中区"]);
        assert_eq!(wrap("hello world again", 11), vec!["hello world", "again"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("¥5\n", 10), vec!["￥5"]);
    }

    #[test]
    fn preview_lines_fit_the_paper() {
        for columns in [32, 48] {
            let lines = sample().preview_lines(columns);
            assert!(
                lines
                    .iter()
                    .filter(|l| !l.starts_with("[QR]"))
                    .all(|l| text_columns(l) <= columns),
                "{lines:?}"
            );
            assert!(lines.iter().any(|line| line.contains("12333")));
            assert!(lines.iter().any(|line| line.starts_with("[QR] https://")));
        }
    }

    #[test]
    fn debug_hides_masked_personal_data() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("张") && !text.contains("1234"), "{text}");
    }

    #[test]
    fn optional_parts_are_left_out() {
        let mut slip = sample();
        slip.holder_masked = None;
        slip.id_masked = None;
        slip.verify_url = None;
        slip.extra_lines.push(ReceiptLine {
            label: "地址".into(),
            value: "渝中区民族路".into(),
        });
        let lines = slip.preview_lines(32);
        assert!(!lines
            .iter()
            .any(|line| line.contains("姓名") || line.contains("[QR]")));
        assert!(lines.iter().any(|line| line == "地址: 渝中区民族路"));
    }
}
