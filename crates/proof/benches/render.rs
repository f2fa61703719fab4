//! Render time and size of a proof: median of N renders of a two-page 个人权益记录 and a
//! one-page 参保证明, with the PDF's bytes beside the font file's (the subset is what ships).
//!   cargo bench -p renshe-proof --bench render

use std::time::{Duration, Instant};

use renshe_proof::*;

const FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
const N: usize = 21;

fn proof(body: ProofBody) -> Proof {
    Proof {
        language: Language::Zh,
        issuer: "重庆市人力资源和社会保障局".into(),
        masked_name: "张*华".into(),
        masked_id_number: "500***********1234".into(),
        body,
        issued_at: "2024-05-20 10:30".into(),
        verification_code: "CQ7K-4M2P-9XTA".into(),
        verify_url: "https://rlsbj.cq.gov.cn/verify?code=CQ7K-4M2P-9XTA".into(),
        seal_png: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(name: &str, proof: &Proof, font: &Font, font_bytes: usize) {
    let mut times = Vec::with_capacity(N);
    let mut size = 0;
    for _ in 0..N {
        let t = Instant::now();
        let pdf = render(proof, font).expect("renders");
        times.push(t.elapsed());
        size = pdf.len();
    }
    println!(
        "{name}: median {:.1} ms of {N}; PDF {size} bytes ({:.1} KB) vs font file {font_bytes} bytes ({:.1} MB)",
        median(times).as_secs_f64() * 1e3,
        size as f64 / 1024.0,
        font_bytes as f64 / 1024.0 / 1024.0
    );
}

fn main() {
    let bytes = std::fs::read(FONT).expect("fonts-wqy-microhei is installed");
    let font_bytes = bytes.len();
    let t = Instant::now();
    let font = Font::from_collection(bytes, 0).expect("the font parses");
    println!("font load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let enrollment = proof(ProofBody::Enrollment(
        [
            "城镇职工基本养老保险",
            "城镇职工基本医疗保险",
            "失业保险",
            "工伤保险",
        ]
        .iter()
        .map(|i| EnrollmentRow {
            insurance: (*i).into(),
            status: "正常参保".into(),
            since: "2012-07".into(),
            place: "重庆市渝北区社会保险事务中心（两江新区社会保险经办窗口）".into(),
        })
        .collect(),
    ));
    bench("参保证明, 1 page", &enrollment, &font, font_bytes);

    let record = proof(ProofBody::Contributions(
        [2022u16, 2023]
            .iter()
            .map(|&year| YearRecord {
                year,
                rows: (0..30)
                    .map(|i| ContributionRow {
                        month: (i % 12) as u8 + 1,
                        base_fen: 612_300 + i as i64 * 100,
                        personal_fen: 48_984,
                        employer_fen: 97_968,
                        employer: "重庆市某某信息技术有限公司两江新区分公司".into(),
                    })
                    .collect(),
            })
            .collect(),
    ));
    bench(
        "个人权益记录 2×30 rows, 2 pages",
        &record,
        &font,
        font_bytes,
    );
}
