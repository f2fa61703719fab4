//! The form: where everything goes on A4 (points, origin top left, y downwards), in two
//! passes — first the table is cut into pages (so the page count is known), then each page
//! is drawn.

use krilla::color::rgb;
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::Document;
use qrcode::{EcLevel, QrCode};

use crate::text::Metrics;
use crate::{yuan, Font, Language, Proof, ProofBody, ProofError};

/// Paper is the resident's: a record too long for this many pages is refused, not printed.
pub const MAX_PAGES: usize = 6;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const CONTENT_W: f32 = RIGHT - LEFT;
/// The table stops here; the page number sits below.
const TABLE_BOTTOM: f32 = PAGE_H - 60.0;
const FIRST_TABLE_TOP: f32 = 196.0;
const NEXT_TABLE_TOP: f32 = 104.0;
const FOOTER_GAP: f32 = 16.0;
const FOOTER_H: f32 = 112.0;
/// The footer may go lower than the table: it has no rows to continue, only the page number
/// below it.
const FOOTER_BOTTOM: f32 = PAGE_H - 44.0;

const CELL_SIZE: f32 = 9.0;
const CELL_LINE: f32 = 11.0;
const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 2.25;
const QR_SIZE: f32 = 84.0;
/// Where the issuer, time and seal block starts; the QR and its text are left of it.
const FOOTER_BLOCK_L: f32 = 362.0;
const SEAL_MAX: f32 = 104.0;

struct Labels {
    title_enrollment: &'static str,
    title_contributions: &'static str,
    name: &'static str,
    id: &'static str,
    intro_enrollment: &'static str,
    intro_contributions: &'static str,
    enrollment_cols: [&'static str; 4],
    contribution_cols: [&'static str; 5],
    no_rows: &'static str,
    continued: &'static str,
    issued_at: &'static str,
    code: &'static str,
    scan: (&'static str, &'static str),
    no_seal: &'static str,
}

const ZH: Labels = Labels {
    title_enrollment: "参保证明",
    title_contributions: "个人权益记录",
    name: "姓名：",
    id: "公民身份号码：",
    intro_enrollment: "兹证明该参保人在本市参加社会保险的情况如下：",
    intro_contributions: "该参保人所选年度的社会保险缴费记录如下（金额单位：元）：",
    enrollment_cols: ["险种", "参保状态", "参保起始年月", "参保地"],
    contribution_cols: ["缴费年月", "缴费基数", "个人缴纳", "单位缴纳", "缴费单位"],
    no_rows: "本年度无缴费记录",
    continued: "（续）",
    issued_at: "出具时间：",
    code: "验证码：",
    scan: ("扫码或登录 ", " 输入验证码核验"),
    no_seal: "电子印章未提供",
};

const EN: Labels = Labels {
    title_enrollment: "Certificate of Social Insurance Enrollment",
    title_contributions: "Personal Social Insurance Contribution Record",
    name: "Name: ",
    id: "ID number: ",
    intro_enrollment:
        "This certifies the social insurance enrollment of the person above in Chongqing:",
    intro_contributions: "Contributions of the person above in the chosen years (amounts in yuan):",
    enrollment_cols: ["Insurance", "Status", "Since", "Place"],
    contribution_cols: ["Month", "Base", "Personal", "Employer", "Employer name"],
    no_rows: "No contributions in this year",
    continued: " (continued)",
    issued_at: "Issued: ",
    code: "Verification code: ",
    scan: (
        "Scan the code or visit ",
        " and enter the verification code to verify",
    ),
    no_seal: "Electronic seal not provided",
};

fn labels(language: Language) -> &'static Labels {
    match language {
        Language::Zh => &ZH,
        Language::En => &EN,
    }
}

fn year_title(language: Language, year: u16) -> String {
    match language {
        Language::Zh => format!("{year}年度"),
        Language::En => format!("Year {year}"),
    }
}

fn page_number(language: Language, page: usize, pages: usize) -> String {
    match language {
        Language::Zh => format!("第 {page} 页 / 共 {pages} 页"),
        Language::En => format!("Page {page} of {pages}"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
    Center,
}

/// A table cell already wrapped to its column.
struct Cell {
    x: f32,
    w: f32,
    lines: Vec<String>,
    align: Align,
}

/// A row of the table: a section title (a year), the column header, or data.
struct Row {
    cells: Vec<Cell>,
    shaded: bool,
    height: f32,
}

impl Row {
    fn new(cells: Vec<Cell>, shaded: bool) -> Row {
        let lines = cells
            .iter()
            .map(|c| c.lines.len())
            .max()
            .unwrap_or(1)
            .max(1);
        Row {
            cells,
            shaded,
            height: lines as f32 * CELL_LINE + 2.0 * CELL_PAD_Y,
        }
    }
}

/// One section of the table: its title (none for enrollment), header, data rows.
struct Section {
    title: Option<String>,
    rows: Vec<Row>,
}

/// What one page holds: rows placed at their top y, and whether the footer follows them.
#[derive(Default)]
struct PagePlan {
    rows: Vec<(f32, RowRef)>,
    footer_top: Option<f32>,
}

#[derive(Clone, Copy)]
enum RowRef {
    Title { section: usize, continued: bool },
    Header,
    Data { section: usize, row: usize },
}

struct Table {
    header: Row,
    sections: Vec<Section>,
}

fn columns(widths: &[f32]) -> Vec<(f32, f32)> {
    let mut x = LEFT;
    let mut out = Vec::with_capacity(widths.len() + 1);
    for w in widths {
        out.push((x, *w));
        x += w;
    }
    out.push((x, RIGHT - x));
    out
}

fn cell(m: &Metrics, (x, w): (f32, f32), text: &str, align: Align) -> Cell {
    Cell {
        x,
        w,
        lines: m.wrap(text, CELL_SIZE, w - 2.0 * CELL_PAD_X),
        align,
    }
}

fn build_table(proof: &Proof, m: &Metrics) -> Result<Table, ProofError> {
    let l = labels(proof.language);
    let (cols, header_texts): (Vec<(f32, f32)>, Vec<&str>) = match &proof.body {
        ProofBody::Enrollment(_) => (columns(&[150.0, 80.0, 84.0]), l.enrollment_cols.to_vec()),
        ProofBody::Contributions(_) => (
            columns(&[60.0, 72.0, 68.0, 68.0]),
            l.contribution_cols.to_vec(),
        ),
    };
    let header = Row::new(
        cols.iter()
            .zip(&header_texts)
            .map(|(c, t)| cell(m, *c, t, Align::Center))
            .collect(),
        true,
    );
    let sections = match &proof.body {
        ProofBody::Enrollment(rows) => {
            if rows.is_empty() {
                return Err(ProofError::Empty);
            }
            vec![Section {
                title: None,
                rows: rows
                    .iter()
                    .map(|r| {
                        let texts = [&r.insurance, &r.status, &r.since, &r.place];
                        Row::new(
                            cols.iter()
                                .zip(texts)
                                .map(|(c, t)| cell(m, *c, t, Align::Left))
                                .collect(),
                            false,
                        )
                    })
                    .collect(),
            }]
        }
        ProofBody::Contributions(years) => {
            if years.iter().all(|y| y.rows.is_empty()) {
                return Err(ProofError::Empty);
            }
            let mut sections = Vec::with_capacity(years.len());
            for year in years {
                let mut rows = Vec::with_capacity(year.rows.len().max(1));
                for r in &year.rows {
                    if !(1..=12).contains(&r.month) {
                        return Err(ProofError::Month {
                            year: year.year,
                            month: r.month,
                        });
                    }
                    let month = format!("{}-{:02}", year.year, r.month);
                    let texts = [
                        (month, Align::Center),
                        (yuan(r.base_fen), Align::Right),
                        (yuan(r.personal_fen), Align::Right),
                        (yuan(r.employer_fen), Align::Right),
                        (r.employer.clone(), Align::Left),
                    ];
                    rows.push(Row::new(
                        cols.iter()
                            .zip(&texts)
                            .map(|(c, (t, a))| cell(m, *c, t, *a))
                            .collect(),
                        false,
                    ));
                }
                if rows.is_empty() {
                    rows.push(Row::new(
                        vec![cell(m, (LEFT, CONTENT_W), l.no_rows, Align::Center)],
                        false,
                    ));
                }
                sections.push(Section {
                    title: Some(year_title(proof.language, year.year)),
                    rows,
                });
            }
            sections
        }
    };
    Ok(Table { header, sections })
}

fn title_row(m: &Metrics, text: &str) -> Row {
    Row::new(vec![cell(m, (LEFT, CONTENT_W), text, Align::Left)], true)
}

/// Cut the table into pages: a section's title and header repeat at the top of a page it
/// continues on, a title never ends a page alone, and the footer goes after the last row
/// (on a page of its own if it does not fit).
fn paginate(table: &Table, titles: &[Option<Row>]) -> Vec<PagePlan> {
    let mut pages = vec![PagePlan::default()];
    let mut y = FIRST_TABLE_TOP;
    for (si, section) in table.sections.iter().enumerate() {
        let title_h = titles[si].as_ref().map_or(0.0, |r| r.height);
        let mut started = false;
        for (ri, row) in section.rows.iter().enumerate() {
            let lead = if started {
                0.0
            } else {
                title_h + table.header.height
            };
            if y + lead + row.height > TABLE_BOTTOM
                && !pages.last().is_some_and(|p| p.rows.is_empty())
            {
                pages.push(PagePlan::default());
                y = NEXT_TABLE_TOP;
                started = false;
            }
            let page = pages.last_mut().expect("pages is never empty");
            if !started {
                if title_h > 0.0 {
                    page.rows.push((
                        y,
                        RowRef::Title {
                            section: si,
                            continued: ri > 0,
                        },
                    ));
                    y += title_h;
                }
                page.rows.push((y, RowRef::Header));
                y += table.header.height;
                started = true;
            }
            page.rows.push((
                y,
                RowRef::Data {
                    section: si,
                    row: ri,
                },
            ));
            y += row.height;
        }
    }
    if y + FOOTER_GAP + FOOTER_H > FOOTER_BOTTOM {
        pages.push(PagePlan::default());
        y = NEXT_TABLE_TOP - FOOTER_GAP;
    }
    if let Some(last) = pages.last_mut() {
        last.footer_top = Some(y + FOOTER_GAP);
    }
    pages
}

/// How many pages [`render`] would make, without drawing them.
pub(crate) fn page_count(proof: &Proof, font: &Font) -> Result<usize, ProofError> {
    let m = Metrics::new(&font.data, font.index).ok_or(ProofError::Font {
        index: font.index,
        len: font.data.len(),
    })?;
    let table = build_table(proof, &m)?;
    let titles: Vec<Option<Row>> = table
        .sections
        .iter()
        .map(|s| s.title.as_ref().map(|t| title_row(&m, t)))
        .collect();
    Ok(paginate(&table, &titles).len())
}

pub(crate) fn render(proof: &Proof, font: &Font) -> Result<Vec<u8>, ProofError> {
    let m = Metrics::new(&font.data, font.index).ok_or(ProofError::Font {
        index: font.index,
        len: font.data.len(),
    })?;
    let l = labels(proof.language);
    let table = build_table(proof, &m)?;
    let titles: Vec<Option<Row>> = table
        .sections
        .iter()
        .map(|s| s.title.as_ref().map(|t| title_row(&m, t)))
        .collect();
    let continued_titles: Vec<Option<Row>> = table
        .sections
        .iter()
        .map(|s| {
            s.title
                .as_ref()
                .map(|t| title_row(&m, &format!("{t}{}", l.continued)))
        })
        .collect();
    let plan = paginate(&table, &titles);
    if plan.len() > MAX_PAGES {
        return Err(ProofError::TooLong(plan.len()));
    }
    let qr = QrCode::with_error_correction_level(proof.verify_url.as_bytes(), EcLevel::M)
        .map_err(|_| ProofError::VerifyUrl)?;
    let seal = match &proof.seal_png {
        Some(png) => Some(
            Image::from_png(krilla::Data::from(png.clone()), true)
                .map_err(|e| ProofError::Seal(e.to_string()))?,
        ),
        None => None,
    };

    let mut doc = Document::new();
    let pages = plan.len();
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(ProofError::Pdf("page size".into()))?;
    for (i, page_plan) in plan.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut p = Painter {
            s: &mut surface,
            m: &m,
            font: &font.pdf,
        };
        if i == 0 {
            first_header(&mut p, proof, l);
        } else {
            next_header(&mut p, proof, l);
        }
        let mut grid = PathBuilder::new();
        for (y, r) in &page_plan.rows {
            let row = match *r {
                RowRef::Title { section, continued } => {
                    let rows = if continued {
                        &continued_titles
                    } else {
                        &titles
                    };
                    match &rows[section] {
                        Some(row) => row,
                        None => continue,
                    }
                }
                RowRef::Header => &table.header,
                RowRef::Data { section, row } => &table.sections[section].rows[row],
            };
            p.row(&mut grid, *y, row);
        }
        if let Some(path) = grid.finish() {
            p.s.set_fill(None);
            p.s.set_stroke(Some(Stroke {
                width: 0.5,
                ..Stroke::default()
            }));
            p.s.draw_path(&path);
            p.s.set_stroke(None);
        }
        if let Some(top) = page_plan.footer_top {
            footer(&mut p, proof, l, top, &qr, seal.clone())?;
        }
        let number = page_number(proof.language, i + 1, pages);
        p.text_at(PAGE_W / 2.0, PAGE_H - 30.0, 9.0, &number, Align::Center);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| match e {
        // The seal is the only image; krilla decodes it lazily, so a broken body shows here.
        KrillaError::Image(_, _, msg) => ProofError::Seal(msg),
        KrillaError::SixteenBitImage(..) => ProofError::Seal("16-bit image".into()),
        KrillaError::Font(_, msg) => ProofError::Pdf(format!("font: {msg}")),
        other => ProofError::Pdf(format!("{other:?}")),
    })
}

fn first_header(p: &mut Painter, proof: &Proof, l: &Labels) {
    let mut y = 60.0;
    for line in p.m.wrap(&proof.issuer, 12.0, CONTENT_W) {
        p.text_at(PAGE_W / 2.0, y, 12.0, &line, Align::Center);
        y += 16.0;
    }
    p.hline(LEFT, RIGHT, y - 8.0, 0.8);
    let title = match proof.body {
        ProofBody::Enrollment(_) => l.title_enrollment,
        ProofBody::Contributions(_) => l.title_contributions,
    };
    let size = if proof.language == Language::Zh {
        22.0
    } else {
        17.0
    };
    p.text_at(PAGE_W / 2.0, y + 26.0, size, title, Align::Center);
    // The identity lines: printed exactly as given, already masked by the caller.
    let y = y + 58.0;
    p.text_at(
        LEFT,
        y,
        11.0,
        &format!("{}{}", l.name, proof.masked_name),
        Align::Left,
    );
    p.text_at(
        LEFT,
        y + 18.0,
        11.0,
        &format!("{}{}", l.id, proof.masked_id_number),
        Align::Left,
    );
    let intro = match proof.body {
        ProofBody::Enrollment(_) => l.intro_enrollment,
        ProofBody::Contributions(_) => l.intro_contributions,
    };
    let mut y = y + 40.0;
    for line in p.m.wrap(intro, 10.0, CONTENT_W) {
        p.text_at(LEFT, y, 10.0, &line, Align::Left);
        y += 13.0;
    }
}

/// A loose second page still says whose and what it is.
fn next_header(p: &mut Painter, proof: &Proof, l: &Labels) {
    let title = match proof.body {
        ProofBody::Enrollment(_) => l.title_enrollment,
        ProofBody::Contributions(_) => l.title_contributions,
    };
    p.text_at(
        PAGE_W / 2.0,
        54.0,
        10.0,
        &format!("{}  {}{}", proof.issuer, title, l.continued),
        Align::Center,
    );
    p.text_at(
        LEFT,
        80.0,
        9.0,
        &format!(
            "{}{}    {}{}",
            l.name, proof.masked_name, l.id, proof.masked_id_number
        ),
        Align::Left,
    );
    p.hline(LEFT, RIGHT, 88.0, 0.5);
}

fn footer(
    p: &mut Painter,
    proof: &Proof,
    l: &Labels,
    top: f32,
    qr: &QrCode,
    seal: Option<Image>,
) -> Result<(), ProofError> {
    // Left: the QR code of verify_url and, beside it, the code and how to check it.
    p.qr(qr, LEFT, top + 8.0, QR_SIZE);
    let tx = LEFT + QR_SIZE + 12.0;
    let text_w = FOOTER_BLOCK_L - 10.0 - tx;
    let mut y = top + 28.0;
    for line in p.m.wrap(
        &format!("{}{}", l.code, proof.verification_code),
        11.0,
        text_w,
    ) {
        p.text_at(tx, y, 11.0, &line, Align::Left);
        y += 15.0;
    }
    y += 4.0;
    let scan = format!("{}{}{}", l.scan.0, verify_site(&proof.verify_url), l.scan.1);
    for line in p.m.wrap(&scan, 8.5, text_w) {
        p.text_at(tx, y, 8.5, &line, Align::Left);
        y += 11.5;
    }

    // Right: the issuer and the time, the seal over them as on a stamped paper.
    let block_l = FOOTER_BLOCK_L;
    let cx = (block_l + RIGHT) / 2.0;
    let block_w = RIGHT - block_l;
    let mut y = top + 52.0;
    for line in p.m.wrap(&proof.issuer, 10.5, block_w) {
        p.text_at(cx, y, 10.5, &line, Align::Center);
        y += 14.0;
    }
    y += 2.0;
    for line in
        p.m.wrap(&format!("{}{}", l.issued_at, proof.issued_at), 9.0, block_w)
    {
        p.text_at(cx, y, 9.0, &line, Align::Center);
        y += 12.0;
    }
    match seal {
        Some(image) => {
            let (w, h) = image.size();
            if w == 0 || h == 0 {
                return Err(ProofError::Seal("empty image".into()));
            }
            let scale = SEAL_MAX / w.max(h) as f32;
            let (sw, sh) = (w as f32 * scale, h as f32 * scale);
            let size = Size::from_wh(sw, sh).ok_or(ProofError::Seal("size".into()))?;
            p.s.push_transform(&krilla::geom::Transform::from_translate(
                cx - sw / 2.0,
                top + 4.0 + (SEAL_MAX - sh) / 2.0,
            ));
            p.s.draw_image(image, size);
            p.s.pop();
        }
        None => p.text_at(cx, top + 22.0, 7.5, l.no_seal, Align::Center),
    }
    Ok(())
}

/// "https://host/path?query" → "host/path": what a resident types, not what the QR carries.
fn verify_site(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end].trim_end_matches('/')
}

struct Painter<'a, 'p> {
    s: &'a mut Surface<'p>,
    m: &'a Metrics<'a>,
    font: &'a krilla::text::Font,
}

impl Painter<'_, '_> {
    fn text_at(&mut self, x: f32, baseline: f32, size: f32, text: &str, align: Align) {
        if text.is_empty() {
            return;
        }
        let w = self.m.width(text, size);
        let x = match align {
            Align::Left => x,
            Align::Right => x - w,
            Align::Center => x - w / 2.0,
        };
        self.s.set_fill(Some(black()));
        let glyphs = self.m.glyphs(text);
        self.s.draw_glyphs(
            Point::from_xy(x, baseline),
            &glyphs,
            self.font.clone(),
            text,
            size,
            false,
        );
    }

    fn hline(&mut self, x0: f32, x1: f32, y: f32, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x0, y);
        pb.line_to(x1, y);
        if let Some(path) = pb.finish() {
            self.s.set_fill(None);
            self.s.set_stroke(Some(Stroke {
                width,
                ..Stroke::default()
            }));
            self.s.draw_path(&path);
            self.s.set_stroke(None);
        }
    }

    /// Shade, text and the row's cell borders (added to `grid`, stroked once per page).
    fn row(&mut self, grid: &mut PathBuilder, top: f32, row: &Row) {
        let bottom = top + row.height;
        if row.shaded {
            if let Some(rect) = Rect::from_ltrb(LEFT, top, RIGHT, bottom) {
                let mut pb = PathBuilder::new();
                pb.push_rect(rect);
                if let Some(path) = pb.finish() {
                    self.s.set_fill(Some(Fill {
                        paint: rgb::Color::new(232, 232, 232).into(),
                        opacity: NormalizedF32::ONE,
                        rule: FillRule::NonZero,
                    }));
                    self.s.draw_path(&path);
                }
            }
        }
        for c in &row.cells {
            for (i, line) in c.lines.iter().enumerate() {
                let baseline = top + CELL_PAD_Y + 0.9 * CELL_SIZE + 0.5 + i as f32 * CELL_LINE;
                let x = match c.align {
                    Align::Left => c.x + CELL_PAD_X,
                    Align::Right => c.x + c.w - CELL_PAD_X,
                    Align::Center => c.x + c.w / 2.0,
                };
                self.text_at(x, baseline, CELL_SIZE, line, c.align);
            }
            grid.move_to(c.x, top);
            grid.line_to(c.x, bottom);
        }
        grid.move_to(RIGHT, top);
        grid.line_to(RIGHT, bottom);
        grid.move_to(LEFT, top);
        grid.line_to(RIGHT, top);
        grid.move_to(LEFT, bottom);
        grid.line_to(RIGHT, bottom);
    }

    /// The QR code's dark modules as filled squares, one path.
    fn qr(&mut self, code: &QrCode, x: f32, y: f32, size: f32) {
        let n = code.width();
        if n == 0 {
            return;
        }
        let module = size / n as f32;
        let colors = code.to_colors();
        let mut pb = PathBuilder::new();
        for (i, color) in colors.iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (cx, cy) = ((i % n) as f32, (i / n) as f32);
                // A hair of overlap so a viewer's anti-aliasing draws no seams.
                if let Some(rect) = Rect::from_xywh(
                    x + cx * module,
                    y + cy * module,
                    module + 0.02,
                    module + 0.02,
                ) {
                    pb.push_rect(rect);
                }
            }
        }
        if let Some(path) = pb.finish() {
            self.s.set_fill(Some(black()));
            self.s.draw_path(&path);
        }
    }
}

fn black() -> Fill {
    Fill {
        paint: rgb::Color::new(0, 0, 0).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::verify_site;

    #[test]
    fn verify_site_drops_scheme_and_query() {
        assert_eq!(
            verify_site("https://rlsbj.cq.gov.cn/verify?code=AB12"),
            "rlsbj.cq.gov.cn/verify"
        );
        assert_eq!(verify_site("http://h/"), "h");
        assert_eq!(verify_site("h#x"), "h");
    }
}
