//! A4 proofs — 参保证明 (enrollment) and 个人权益记录 (contribution record) — as PDF.
//!
//! Pure: [`render`] turns a [`Proof`] and a [`Font`] into PDF bytes and touches nothing else.
//! The layout is a fixed form placed by coordinates (A4 portrait, points, y downwards), with
//! long cells wrapped by measured width and long tables paginated with their header repeated.
//!
//! Identity is passed in **already masked** (`masked_name`, `masked_id_number`): this crate
//! never receives a full ID number, so it cannot print or leak one. The seal and the
//! verification code come from the back end; when no seal is given nothing is drawn in its
//! place but the words "电子印章未提供" — a seal is never invented here.

mod layout;
mod text;

use std::fmt;
use std::sync::Arc;

pub use layout::MAX_PAGES;

/// The language every label of the proof is printed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

/// One insurance line of a 参保证明, in the caller's words (already in the proof's language).
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentRow {
    /// The insurance type, e.g. "城镇职工基本养老保险".
    pub insurance: String,
    /// Its status, e.g. "正常参保".
    pub status: String,
    /// When it started, preformatted, e.g. "2015-07".
    pub since: String,
    /// Where, e.g. "重庆市渝中区"; wrapped when long.
    pub place: String,
}

/// One month of a 个人权益记录. Amounts are in fen (分), printed as yuan with two decimals.
#[derive(Clone, PartialEq, Eq)]
pub struct ContributionRow {
    /// 1–12.
    pub month: u8,
    pub base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
    /// The employer's name; wrapped when long.
    pub employer: String,
}

/// The contribution rows of one chosen year.
#[derive(Clone, PartialEq, Eq)]
pub struct YearRecord {
    pub year: u16,
    pub rows: Vec<ContributionRow>,
}

/// What the proof certifies. (Debug shows years and row counts only.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofBody {
    /// 参保证明.
    Enrollment(Vec<EnrollmentRow>),
    /// 个人权益记录 for the chosen years, in the order given.
    Contributions(Vec<YearRecord>),
}

/// Everything printed on a proof. Strings are printed as given: the caller formats dates and
/// masks identity.
#[derive(Clone, PartialEq, Eq)]
pub struct Proof {
    pub language: Language,
    /// "重庆市人力资源和社会保障局" / "Chongqing Municipal Human Resources and Social Security Bureau".
    pub issuer: String,
    /// Already masked, e.g. "张*".
    pub masked_name: String,
    /// Already masked, e.g. "500***********1234". Never a full number.
    pub masked_id_number: String,
    pub body: ProofBody,
    /// Preformatted issuing time, e.g. "2024年05月20日 10:30".
    pub issued_at: String,
    /// Issued by the back end, never made locally.
    pub verification_code: String,
    /// Encoded in the QR code; its host and path are printed in the "scan or visit" line.
    pub verify_url: String,
    /// The issuer's 电子印章 as PNG, straight from the back end (not cached on disk).
    pub seal_png: Option<Vec<u8>>,
}

impl Proof {
    /// Which of the two kinds this is.
    pub fn kind(&self) -> ProofKind {
        match self.body {
            ProofBody::Enrollment(_) => ProofKind::Enrollment,
            ProofBody::Contributions(_) => ProofKind::Contributions,
        }
    }
}

/// The two kinds of proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofKind {
    /// 参保证明.
    Enrollment,
    /// 个人权益记录.
    Contributions,
}

// Debug shows the shape only: a proof holds a resident's (masked) identity and records, and
// Debug output ends up in logs.
impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = match &self.body {
            ProofBody::Enrollment(rows) => rows.len(),
            ProofBody::Contributions(years) => years.iter().map(|y| y.rows.len()).sum(),
        };
        f.debug_struct("Proof")
            .field("kind", &self.kind())
            .field("language", &self.language)
            .field("rows", &rows)
            .field("seal", &self.seal_png.as_ref().map(|s| s.len()))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnrollmentRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrollmentRow { .. }")
    }
}

impl fmt::Debug for ContributionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContributionRow {{ month: {}, .. }}", self.month)
    }
}

impl fmt::Debug for YearRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "YearRecord {{ year: {}, rows: {} }}",
            self.year,
            self.rows.len()
        )
    }
}

/// Why a proof could not be rendered. Messages name the part at fault, never its content.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("the font does not parse (face {index} of a {len}-byte file)")]
    Font { index: u32, len: usize },
    #[error("the seal image is not a usable PNG: {0}")]
    Seal(String),
    #[error("the verify URL cannot be encoded as a QR code")]
    VerifyUrl,
    #[error("month {month} of year {year} is not 1–12")]
    Month { year: u16, month: u8 },
    #[error("the proof has no rows")]
    Empty,
    #[error("the proof needs {0} pages, more than the {MAX_PAGES} allowed")]
    TooLong(usize),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// A font face, parsed once and shared between renders (cloning is cheap).
#[derive(Clone)]
pub struct Font {
    data: Arc<Vec<u8>>,
    index: u32,
    pdf: krilla::text::Font,
}

impl Font {
    /// Face `index` of a TrueType collection (or 0 of a single font file), e.g. face 0 of
    /// `/usr/share/fonts/truetype/wqy/wqy-microhei.ttc`. Only the glyphs a proof uses are
    /// embedded.
    pub fn from_collection(bytes: Vec<u8>, index: u32) -> Result<Font, ProofError> {
        let data = Arc::new(bytes);
        let err = ProofError::Font {
            index,
            len: data.len(),
        };
        // Both parsers must accept it: skrifa for measuring here, krilla for embedding.
        text::Metrics::new(&data, index).ok_or_else(|| err.clone())?;
        let pdf = krilla::text::Font::new(krilla::Data::from(data.clone()), index).ok_or(err)?;
        Ok(Font { data, index, pdf })
    }
}

impl fmt::Debug for Font {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Font {{ index: {}, bytes: {} }}",
            self.index,
            self.data.len()
        )
    }
}

/// The proof as a PDF: A4 portrait, as many pages as the table needs (at most [`MAX_PAGES`]),
/// the CJK font subset embedded.
pub fn render(proof: &Proof, font: &Font) -> Result<Vec<u8>, ProofError> {
    layout::render(proof, font)
}

/// The pages [`render`] would make (for a preview), without drawing them.
pub fn page_count(proof: &Proof, font: &Font) -> Result<usize, ProofError> {
    layout::page_count(proof, font)
}

/// Fen as yuan with thousands separators: 123456 → "1,234.56".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yuan_groups_and_signs() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(123456), "1,234.56");
        assert_eq!(yuan(100000000), "1,000,000.00");
        assert_eq!(yuan(-99), "-0.99");
        assert_eq!(yuan(i64::MIN), "-92,233,720,368,547,758.08");
    }

    #[test]
    fn a_font_that_does_not_parse_is_an_error() {
        let err = Font::from_collection(b"not a font".to_vec(), 0).unwrap_err();
        assert_eq!(err, ProofError::Font { index: 0, len: 10 });
    }

    #[test]
    fn debug_shows_no_identity() {
        let proof = Proof {
            language: Language::Zh,
            issuer: "重庆市人力资源和社会保障局".into(),
            masked_name: "张*".into(),
            masked_id_number: "500***********1234".into(),
            body: ProofBody::Enrollment(vec![EnrollmentRow {
                insurance: "养老".into(),
                status: "正常".into(),
                since: "2015-07".into(),
                place: "渝中区".into(),
            }]),
            issued_at: "2024".into(),
            verification_code: "CODE".into(),
            verify_url: "https://v.example/".into(),
            seal_png: None,
        };
        let s = format!("{proof:?} {:?}", proof.body);
        for secret in ["张", "1234", "CODE", "渝中区"] {
            assert!(!s.contains(secret), "{s}");
        }
    }
}
