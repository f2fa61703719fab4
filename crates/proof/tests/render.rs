//! Render both kinds in both languages and read them back with poppler (pdftotext, pdfinfo):
//! what a resident would see on paper, not what we think we wrote. PNGs for looking at go to
//! /tmp/proof-png/.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;
use std::process::Command;

use renshe_proof::{
    render, ContributionRow, EnrollmentRow, Font, Language, Proof, ProofBody, ProofError,
    YearRecord,
};

const FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
const FULL_ID: &str = "500103199001011234";
const MASKED_ID: &str = "500***********1234";
const CODE: &str = "CQ7K-4M2P-9XTA";

fn font() -> Font {
    let bytes = std::fs::read(FONT).expect("fonts-wqy-microhei is installed (./dev setup)");
    Font::from_collection(bytes, 0).unwrap()
}

fn issuer(language: Language) -> String {
    match language {
        Language::Zh => "重庆市人力资源和社会保障局".into(),
        Language::En => "Chongqing Municipal Human Resources and Social Security Bureau".into(),
    }
}

fn proof(language: Language, body: ProofBody, seal: Option<Vec<u8>>) -> Proof {
    Proof {
        language,
        issuer: issuer(language),
        masked_name: match language {
            Language::Zh => "张*华".into(),
            Language::En => "Z*** Hua".into(),
        },
        masked_id_number: MASKED_ID.into(),
        body,
        issued_at: "2024-05-20 10:30".into(),
        verification_code: CODE.into(),
        verify_url: format!("https://rlsbj.cq.gov.cn/verify?code={CODE}"),
        seal_png: seal,
    }
}

fn enrollment(language: Language) -> ProofBody {
    let zh = language == Language::Zh;
    let rows = [
        (
            "城镇职工基本养老保险",
            "Basic pension (employees)",
            "正常参保",
            "Enrolled",
            "2012-07",
        ),
        (
            "城镇职工基本医疗保险",
            "Basic medical (employees)",
            "正常参保",
            "Enrolled",
            "2012-07",
        ),
        (
            "失业保险",
            "Unemployment",
            "暂停缴费",
            "Suspended",
            "2013-01",
        ),
        ("工伤保险", "Work injury", "正常参保", "Enrolled", "2012-07"),
    ];
    ProofBody::Enrollment(
        rows.iter()
            .map(|(i_zh, i_en, s_zh, s_en, since)| EnrollmentRow {
                insurance: if zh { *i_zh } else { *i_en }.into(),
                status: if zh { *s_zh } else { *s_en }.into(),
                since: (*since).into(),
                place: if zh {
                    "重庆市渝北区社会保险事务中心（两江新区社会保险经办窗口，金开大道西段106号）".into()
                } else {
                    "Yubei District Social Insurance Affairs Centre, Liangjiang New Area, 106 Jinkai Avenue West, Chongqing".into()
                },
            })
            .collect(),
    )
}

fn contributions(language: Language, years: &[u16], rows_per_year: usize) -> ProofBody {
    let employer = match language {
        Language::Zh => {
            "重庆市某某信息技术有限公司两江新区分公司（原重庆某某软件开发有限责任公司）"
        }
        Language::En => {
            "Chongqing Example Information Technology Co., Ltd., Liangjiang New Area Branch"
        }
    };
    ProofBody::Contributions(
        years
            .iter()
            .map(|&year| YearRecord {
                year,
                rows: (0..rows_per_year)
                    .map(|i| ContributionRow {
                        month: (i % 12) as u8 + 1,
                        base_fen: 612_300 + i as i64 * 100,
                        personal_fen: 48_984,
                        employer_fen: 97_968,
                        employer: if i % 5 == 0 {
                            employer.into()
                        } else {
                            "重庆某某公司".into()
                        },
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// A round red "seal" as a PNG, so the test draws a real image without shipping one.
fn seal_png() -> Vec<u8> {
    let (w, h) = (120u32, 120u32);
    let mut pixels = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - 59.5, y as f32 - 59.5);
            let r = (dx * dx + dy * dy).sqrt();
            let ink = (52.0..58.0).contains(&r) || r < 12.0;
            pixels.extend_from_slice(if ink {
                &[200, 20, 20, 220]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&pixels).unwrap();
    }
    out
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Rendered {
    fn has(&self, s: &str) -> bool {
        self.squashed.contains(&squash(s))
    }
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils; ./dev setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Rendered {
    text: String,
    /// The text without whitespace: pdftotext drops or adds spaces around CJK.
    squashed: String,
    pages: usize,
    bytes: usize,
}

fn check(name: &str, proof: &Proof) -> Rendered {
    let pdf = render(proof, &font()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).unwrap();
    let p = path.to_str().unwrap();
    let text = run("pdftotext", &["-layout", p, "-"]);
    let info = run("pdfinfo", &[p]);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    let png_dir = Path::new("/tmp/proof-png");
    std::fs::create_dir_all(png_dir).unwrap();
    run(
        "pdftoppm",
        &["-png", "-r", "60", p, png_dir.join(name).to_str().unwrap()],
    );

    assert!(
        text.contains(&proof.masked_name),
        "{name}: masked name missing:\n{text}"
    );
    assert!(
        text.contains(MASKED_ID),
        "{name}: masked ID missing:\n{text}"
    );
    assert!(
        text.contains(CODE),
        "{name}: verification code missing:\n{text}"
    );
    assert!(
        !text.contains(FULL_ID),
        "{name}: a full ID number is printed"
    );
    assert!(pdf.len() <= 200 * 1024, "{name}: {} bytes", pdf.len());
    Rendered {
        squashed: squash(&text),
        text,
        pages,
        bytes: pdf.len(),
    }
}

#[test]
fn enrollment_zh() {
    let r = check(
        "enrollment-zh",
        &proof(Language::Zh, enrollment(Language::Zh), Some(seal_png())),
    );
    for s in [
        "重庆市人力资源和社会保障局",
        "参保证明",
        "城镇职工基本养老保险",
        "2012-07",
        "第 1 页 / 共 1 页",
    ] {
        assert!(r.has(s), "{s} missing:\n{}", r.text);
    }
    // No seal text when a seal was given.
    assert!(!r.has("电子印章未提供"));
    assert_eq!(r.pages, 1);
}

#[test]
fn enrollment_en_without_seal_says_so() {
    let r = check(
        "enrollment-en",
        &proof(Language::En, enrollment(Language::En), None),
    );
    for s in [
        "Certificate of Social Insurance Enrollment",
        "Basic pension (employees)",
        "Electronic seal not provided",
        "Page 1 of 1",
        "Verification code",
    ] {
        assert!(r.has(s), "{s} missing:\n{}", r.text);
    }
    assert_eq!(r.pages, 1);
}

#[test]
fn contributions_zh_one_page() {
    let r = check(
        "contributions-zh",
        &proof(Language::Zh, contributions(Language::Zh, &[2023], 12), None),
    );
    for s in [
        "个人权益记录",
        "2023年度",
        "2023-12",
        "6,123.00",
        "489.84",
        "979.68",
        "电子印章未提供",
    ] {
        assert!(r.has(s), "{s} missing:\n{}", r.text);
    }
    assert!(
        r.has("扫码或登录 rlsbj.cq.gov.cn/verify 输入验证码核验"),
        "{}",
        r.text
    );
    assert_eq!(r.pages, 1);
}

#[test]
fn contributions_en_one_page() {
    let r = check(
        "contributions-en",
        &proof(
            Language::En,
            contributions(Language::En, &[2022], 12),
            Some(seal_png()),
        ),
    );
    for s in [
        "Personal Social Insurance Contribution Record",
        "Year 2022",
        "2022-03",
        "6,125.00",
    ] {
        assert!(r.has(s), "{s} missing:\n{}", r.text);
    }
    assert_eq!(r.pages, 1);
}

#[test]
fn two_years_of_thirty_rows_paginate_to_two_pages() {
    let r = check(
        "contributions-long-zh",
        &proof(
            Language::Zh,
            contributions(Language::Zh, &[2022, 2023], 30),
            Some(seal_png()),
        ),
    );
    assert_eq!(r.pages, 2, "{}", r.text);
    for s in [
        "第 1 页 / 共 2 页",
        "第 2 页 / 共 2 页",
        "2022年度",
        "2023年度",
        "缴费年月",
    ] {
        assert!(r.has(s), "{s} missing:\n{}", r.text);
    }
    // The header is repeated on page 2 (pdftotext separates pages with a form feed).
    let page2 = r.text.split('\x0c').nth(1).unwrap();
    assert!(
        page2.contains("缴费年月") && page2.contains("缴费单位"),
        "{page2}"
    );
    assert!(page2.contains(MASKED_ID), "page 2 says whose it is");
    eprintln!("two-page record: {} bytes", r.bytes);
}

#[test]
fn a_broken_seal_is_an_error_naming_the_seal() {
    let mut broken = seal_png();
    broken.truncate(60);
    let err = render(
        &proof(Language::Zh, enrollment(Language::Zh), Some(broken)),
        &font(),
    )
    .unwrap_err();
    assert!(matches!(err, ProofError::Seal(_)), "{err:?}");
    assert!(err.to_string().contains("seal"), "{err}");

    let err = render(
        &proof(
            Language::Zh,
            enrollment(Language::Zh),
            Some(b"GIF89a".to_vec()),
        ),
        &font(),
    )
    .unwrap_err();
    assert!(matches!(err, ProofError::Seal(_)), "{err:?}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let f = font();
    let bad_month = ProofBody::Contributions(vec![YearRecord {
        year: 2023,
        rows: vec![ContributionRow {
            month: 13,
            base_fen: 1,
            personal_fen: 1,
            employer_fen: 1,
            employer: "x".into(),
        }],
    }]);
    assert_eq!(
        render(&proof(Language::Zh, bad_month, None), &f),
        Err(ProofError::Month {
            year: 2023,
            month: 13
        })
    );
    assert_eq!(
        render(
            &proof(Language::Zh, ProofBody::Enrollment(vec![]), None),
            &f
        ),
        Err(ProofError::Empty)
    );
    let huge = proof(
        Language::Zh,
        contributions(
            Language::Zh,
            &[2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009, 2010],
            30,
        ),
        None,
    );
    assert!(matches!(render(&huge, &f), Err(ProofError::TooLong(_))));
    let mut long_url = proof(Language::Zh, enrollment(Language::Zh), None);
    long_url.verify_url = "x".repeat(5000);
    assert_eq!(render(&long_url, &f), Err(ProofError::VerifyUrl));
    assert!(matches!(
        Font::from_collection(std::fs::read(FONT).unwrap(), 7),
        Err(ProofError::Font { index: 7, .. })
    ));
}
