//! Voice guidance: what the kiosk says for a view, as Fluent keys (`voice-…`, written to be
//! heard) with at most one spoken argument each, and numbers, sums and dates said as words.
//!
//! The shell speaks the prompt of every view it draws when it differs from the last one, so
//! a new page (or a new digit count on the PIN pad) cuts the previous prompt short. What is
//! said never holds a PIN digit, an ID or card number, or a name: the PIN pad says how many
//! digits are in, queries read their summary without the name and number lines.

use crate::failure::{BackendProblem, CardProblem, PrintProblem, Rejection};
use crate::flows::card::{CardServiceView, CardStep};
use crate::flows::certification::{CertificationStep, CertificationView, CycleState, Verdict};
use crate::flows::pin::{PinEntryView, PinNotice, PinPrompt};
use crate::flows::proof::{ProofStepView, ProofView};
use crate::flows::proxy::{ProxyStep, ProxyView};
use crate::flows::query::{QueryStepView, QueryView};
use crate::flows::{FlowView, PrintState};
use crate::identity::WeakPin;
use crate::records::{CardState, Cell};
use crate::session::{Farewell, Page, View};
use crate::technician::TechnicianView;
use crate::{Date, Language};

/// What is said for one view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub phrases: Vec<Phrase>,
    pub kind: PromptKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Spoken when voice guidance is on.
    Guidance,
    /// The card left in the reader: a tone and the words, again and again until it is taken,
    /// whether guidance is on or not.
    TakeCard,
}

/// One Fluent text; `arg` fills its `{ $value }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub key: String,
    pub arg: Option<Said>,
}

/// An argument as it is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// A count: 三 / three.
    Number(u64),
    /// A sum in fen: 八百一十二元四角 / eight hundred twelve yuan forty.
    Money(i64),
    Date(Date),
    /// Another Fluent text (a card state, a month's status), translated as it stands.
    Text(&'static str),
}

impl Phrase {
    fn new(key: impl Into<String>) -> Phrase {
        Phrase {
            key: key.into(),
            arg: None,
        }
    }

    fn with(key: impl Into<String>, arg: Said) -> Phrase {
        Phrase {
            key: key.into(),
            arg: Some(arg),
        }
    }
}

fn guidance(phrases: Vec<Phrase>) -> Option<Prompt> {
    Some(Prompt {
        phrases,
        kind: PromptKind::Guidance,
    })
}

fn one(key: &str) -> Option<Prompt> {
    guidance(vec![Phrase::new(key)])
}

/// The idle warning's last seconds are announced once, at this many left.
pub const LAST_SECONDS: u32 = 10;

/// What the kiosk says for `view`, most urgent first: the forgotten card, the idle
/// warning, a card notice, then the page.
pub fn prompt(view: &View) -> Option<Prompt> {
    match &view.technician {
        // Residents hear why the terminal does not serve them; a technician's pages are
        // silent.
        Some(TechnicianView::OutOfService) => return one("voice-out-of-service"),
        Some(_) => return None,
        None => {}
    }
    if view.take_card_reminder {
        return Some(Prompt {
            phrases: vec![Phrase::new("voice-take-card")],
            kind: PromptKind::TakeCard,
        });
    }
    if let Some(seconds) = view.idle_warning_seconds {
        return if seconds <= LAST_SECONDS {
            guidance(vec![Phrase::with(
                "voice-idle-seconds-left",
                Said::Number(u64::from(LAST_SECONDS)),
            )])
        } else {
            one("voice-idle-warning")
        };
    }
    if let Some(problem) = view.card_notice {
        return one(card_problem(problem));
    }
    match view.page {
        Page::Attract => {
            let mut phrases = Vec::new();
            match view.farewell {
                Some(Farewell::Interrupted) => {
                    phrases.push(Phrase::new("voice-farewell-interrupted"))
                }
                Some(Farewell::BeingConfirmed) => {
                    phrases.push(Phrase::new("voice-farewell-being-confirmed"))
                }
                None => {}
            }
            phrases.push(Phrase::new(if view.back_end_down() {
                "voice-attract-offline"
            } else {
                "voice-attract"
            }));
            guidance(phrases)
        }
        Page::Home => one("voice-home"),
        Page::Help => one("voice-help"),
        Page::Flow => match &view.flow {
            Some(flow) => flow_prompt(flow),
            None => one("voice-home"),
        },
    }
}

fn card_problem(problem: CardProblem) -> &'static str {
    match problem {
        CardProblem::Unreadable => "voice-card-unreadable",
        CardProblem::NeedsAuthenticationModule => "voice-card-needs-module",
        CardProblem::NotSocialSecurityCard => "voice-card-not-social-security",
        CardProblem::ReaderUnavailable => "voice-card-reader-unavailable",
    }
}

fn flow_prompt(flow: &FlowView) -> Option<Prompt> {
    match flow {
        FlowView::Query(query) => print_prompt(query.print).or_else(|| query_prompt(query)),
        FlowView::Card(card) => print_prompt(card.print).or_else(|| card_prompt(card)),
        FlowView::Certification(cert) => {
            print_prompt(cert.print).or_else(|| certification_prompt(cert))
        }
        FlowView::Proxies(proxies) => {
            print_prompt(proxies.print).or_else(|| proxies_prompt(proxies))
        }
        FlowView::Proof(proof) => proof_prompt(proof),
        FlowView::Finder(finder) => match (finder.print, finder.point) {
            (Some(state), _) => print_prompt(Some(state)),
            (None, Some(_)) => one("voice-finder-point"),
            (None, None) => one("voice-finder"),
        },
        FlowView::Unavailable(_) => one("voice-unavailable"),
    }
}

fn print_prompt(print: Option<PrintState>) -> Option<Prompt> {
    match print? {
        PrintState::Printing => one("voice-printing"),
        PrintState::Printed => one("voice-printed"),
        PrintState::Failed(problem) => one(print_problem(problem)),
    }
}

fn print_problem(problem: PrintProblem) -> &'static str {
    match problem {
        PrintProblem::PaperOut => "voice-print-paper-out",
        PrintProblem::Unconfirmed => "voice-print-unconfirmed",
        _ => "voice-print-failed",
    }
}

/// The PIN pad: what to type, the last refusal first, then only how many digits are in.
fn pin_prompt(pin: &PinEntryView) -> Option<Prompt> {
    if pin.pad.entered > 0 {
        return guidance(vec![Phrase::with(
            "voice-pin-entered",
            Said::Number(pin.pad.entered as u64),
        )]);
    }
    let mut phrases = Vec::new();
    if let Some(notice) = pin.notice {
        phrases.push(pin_notice(notice));
    }
    phrases.push(Phrase::new(match pin.prompt {
        PinPrompt::Service => "voice-pin-service",
        PinPrompt::Issuing => "voice-pin-issuing",
        PinPrompt::Old => "voice-pin-old",
        PinPrompt::New => "voice-pin-new",
        PinPrompt::Repeat => "voice-pin-repeat",
    }));
    guidance(phrases)
}

fn pin_notice(notice: PinNotice) -> Phrase {
    match notice {
        PinNotice::Wrong { retries_left } => {
            Phrase::with("voice-pin-wrong", Said::Number(u64::from(retries_left)))
        }
        PinNotice::CardFailed => Phrase::new("voice-pin-card-failed"),
        PinNotice::Weak(WeakPin::NotSixDigits) => Phrase::new("voice-pin-six-digits"),
        PinNotice::Weak(_) => Phrase::new("voice-pin-weak"),
        PinNotice::Mismatch => Phrase::new("voice-pin-mismatch"),
    }
}

fn on_reader(notice: Option<PinNotice>) -> Option<Prompt> {
    let mut phrases: Vec<Phrase> = notice.into_iter().map(pin_notice).collect();
    phrases.push(Phrase::new("voice-pin-on-reader"));
    guidance(phrases)
}

fn failed(problem: &BackendProblem) -> Option<Prompt> {
    one(match problem {
        BackendProblem::RouteUnavailable => "voice-failed-unavailable",
        BackendProblem::OutcomeUnknown => "voice-failed-unknown",
        BackendProblem::Rejected {
            reason: Rejection::NotFound,
            ..
        } => "voice-failed-not-found",
        BackendProblem::Rejected {
            reason: Rejection::CardBlocked,
            ..
        } => "voice-failed-card-blocked",
        BackendProblem::Rejected { .. } => "voice-failed-rejected",
    })
}

fn query_prompt(query: &QueryView) -> Option<Prompt> {
    match &query.step {
        QueryStepView::NeedsCard => one("voice-insert-card"),
        QueryStepView::EnterPin(pin) => pin_prompt(pin),
        QueryStepView::PinOnReader(notice) => on_reader(*notice),
        QueryStepView::CheckingPin | QueryStepView::Loading => one("voice-please-wait"),
        QueryStepView::PinBlocked => one("voice-pin-blocked"),
        QueryStepView::Answered => {
            let mut phrases = vec![Phrase::new("voice-query-answered")];
            for line in &query.summary {
                // Never a name or a number aloud: those lines stay on the screen.
                if matches!(line.label_key, "row-name" | "row-card-number") {
                    continue;
                }
                if let Some(said) = said(&line.value) {
                    phrases.push(Phrase::with(format!("voice-{}", line.label_key), said));
                }
            }
            if query.summary.is_empty() {
                phrases.push(Phrase::new("voice-query-on-screen"));
            }
            guidance(phrases)
        }
        QueryStepView::Failed { problem, .. } => failed(problem),
    }
}

/// A summary value as it is said: a Fluent text, a sum ("812.40 元"), or a count.
fn said(cell: &Cell) -> Option<Said> {
    if !cell.key.is_empty() {
        return Some(Said::Text(cell.key));
    }
    let text = cell.text.trim();
    let number = text.trim_end_matches('元').trim();
    if let Some((whole, cents)) = number.split_once('.') {
        let negative = whole.starts_with('-');
        let yuan: i64 = whole.trim_start_matches('-').parse().ok()?;
        let fen: i64 = cents.parse().ok().filter(|_| cents.len() == 2)?;
        let sum = yuan * 100 + fen;
        return Some(Said::Money(if negative { -sum } else { sum }));
    }
    number.parse().ok().map(Said::Number)
}

fn card_prompt(card: &CardServiceView) -> Option<Prompt> {
    match &card.step {
        CardStep::NeedsCard => one("voice-insert-card"),
        CardStep::ChooseIdentification => one("voice-choose-identification"),
        CardStep::NeedsIdCard => one("voice-place-id-card"),
        CardStep::NeedsCardOrIdCard => one("voice-card-or-id-card"),
        CardStep::TypeIdNumber { .. } => one("voice-type-id-number"),
        CardStep::TypeName { .. } => one("voice-type-name"),
        CardStep::EnterPin(pin) => pin_prompt(pin),
        CardStep::PinOnReader(notice) => on_reader(*notice),
        CardStep::Working(_) => one("voice-please-wait"),
        CardStep::Confirm(_) => one("voice-card-confirm"),
        CardStep::Unsuitable(state) => guidance(vec![Phrase::with(
            "voice-card-unsuitable",
            Said::Text(crate::records::card_state_key(*state)),
        )]),
        CardStep::PinBlocked => one("voice-pin-blocked"),
        CardStep::PinChanged => one("voice-pin-changed"),
        CardStep::Done(confirmation) => one(match confirmation.state {
            CardState::Active => "voice-card-done-active",
            CardState::TemporarilyLost => "voice-card-done-lost",
            _ => "voice-card-done",
        }),
        CardStep::Failed { problem, .. } => failed(problem),
    }
}

fn certification_prompt(cert: &CertificationView) -> Option<Prompt> {
    match &cert.step {
        CertificationStep::NeedsCardOrIdCard => one(if cert.for_relative {
            "voice-cert-helper-identify"
        } else {
            "voice-card-or-id-card"
        }),
        CertificationStep::EnterPin(pin) => pin_prompt(pin),
        CertificationStep::PinOnReader(notice) => on_reader(*notice),
        CertificationStep::CheckingPin
        | CertificationStep::LookingUp
        | CertificationStep::Sending => one("voice-please-wait"),
        CertificationStep::PinBlocked => one("voice-pin-blocked"),
        CertificationStep::TypeIdNumber { .. } => one("voice-cert-type-pensioner-id"),
        CertificationStep::TypeName { .. } => one("voice-cert-type-pensioner-name"),
        CertificationStep::Status(status) => match status.state {
            CycleState::Due { by } => {
                guidance(vec![Phrase::with("voice-cert-due", Said::Date(by))])
            }
            _ => one("voice-cert-start"),
        },
        CertificationStep::NothingToDo(status) => match status.state {
            CycleState::Certified { until } => {
                guidance(vec![Phrase::with("voice-cert-already", Said::Date(until))])
            }
            _ => one("voice-cert-not-entitled"),
        },
        CertificationStep::Preview => one(if cert.for_relative {
            "voice-cert-preview-relative"
        } else {
            "voice-cert-preview"
        }),
        CertificationStep::Action { action, .. } => one(&format!("voice-action-{}", action.key())),
        CertificationStep::Retake { problem, .. } => {
            one(&format!("voice-capture-{}", problem.key()))
        }
        CertificationStep::Verdict(Verdict::Certified { until, .. }) => {
            guidance(vec![Phrase::with(
                "voice-cert-certified",
                Said::Date(*until),
            )])
        }
        CertificationStep::Verdict(Verdict::Rejected { attempts_left, .. }) => {
            guidance(vec![Phrase::with(
                "voice-cert-rejected",
                Said::Number(u64::from(*attempts_left)),
            )])
        }
        CertificationStep::Verdict(Verdict::Received { .. }) => one("voice-cert-received"),
        CertificationStep::Failed { problem, .. } => failed(problem),
    }
}

fn proxies_prompt(proxies: &ProxyView) -> Option<Prompt> {
    match &proxies.step {
        ProxyStep::NeedsCardOrIdCard => one("voice-card-or-id-card"),
        ProxyStep::EnterPin(pin) => pin_prompt(pin),
        ProxyStep::PinOnReader(notice) => on_reader(*notice),
        ProxyStep::CheckingPin | ProxyStep::LookingUp | ProxyStep::Sending => {
            one("voice-please-wait")
        }
        ProxyStep::PinBlocked => one("voice-pin-blocked"),
        ProxyStep::List { proxies, full, .. } => guidance(vec![Phrase::with(
            if *full {
                "voice-proxies-full"
            } else {
                "voice-proxies-list"
            },
            Said::Number(proxies.len() as u64),
        )]),
        ProxyStep::TypeIdNumber { .. } => one("voice-proxy-type-id"),
        ProxyStep::TypeName { .. } => one("voice-proxy-type-name"),
        ProxyStep::Confirm { added, .. } => one(if *added {
            "voice-proxy-confirm-add"
        } else {
            "voice-proxy-confirm-remove"
        }),
        ProxyStep::Done(_) => one("voice-proxy-done"),
        ProxyStep::Failed { problem, .. } => failed(problem),
    }
}

fn proof_prompt(proof: &ProofView) -> Option<Prompt> {
    if let Some(prompt) = print_prompt(proof.print) {
        return Some(prompt);
    }
    match &proof.step {
        ProofStepView::NeedsCard => one("voice-insert-card"),
        ProofStepView::EnterPin(pin) => pin_prompt(pin),
        ProofStepView::PinOnReader(notice) => on_reader(*notice),
        ProofStepView::CheckingPin | ProofStepView::CheckingPrinter | ProofStepView::Loading => {
            one("voice-please-wait")
        }
        ProofStepView::PinBlocked => one("voice-pin-blocked"),
        ProofStepView::ChooseKind => one("voice-proof-choose-kind"),
        ProofStepView::ChooseYears => one("voice-proof-choose-years"),
        ProofStepView::Preview => one("voice-proof-preview"),
        ProofStepView::Failed { problem, .. } => failed(problem),
    }
}

/// Every key [`prompt`] can give, for the locale completeness test.
pub fn keys() -> Vec<String> {
    let fixed = [
        "voice-take-card",
        "voice-out-of-service",
        "voice-idle-warning",
        "voice-idle-seconds-left",
        "voice-card-unreadable",
        "voice-card-needs-module",
        "voice-card-not-social-security",
        "voice-card-reader-unavailable",
        "voice-farewell-interrupted",
        "voice-farewell-being-confirmed",
        "voice-attract",
        "voice-attract-offline",
        "voice-home",
        "voice-help",
        "voice-finder",
        "voice-finder-point",
        "voice-unavailable",
        "voice-printing",
        "voice-printed",
        "voice-print-paper-out",
        "voice-print-unconfirmed",
        "voice-print-failed",
        "voice-pin-entered",
        "voice-pin-service",
        "voice-pin-issuing",
        "voice-pin-old",
        "voice-pin-new",
        "voice-pin-repeat",
        "voice-pin-wrong",
        "voice-pin-card-failed",
        "voice-pin-six-digits",
        "voice-pin-weak",
        "voice-pin-mismatch",
        "voice-pin-on-reader",
        "voice-pin-blocked",
        "voice-pin-changed",
        "voice-failed-unavailable",
        "voice-failed-unknown",
        "voice-failed-not-found",
        "voice-failed-card-blocked",
        "voice-failed-rejected",
        "voice-insert-card",
        "voice-please-wait",
        "voice-query-answered",
        "voice-query-on-screen",
        "voice-row-card-state",
        "voice-row-payments-this-year",
        "voice-row-total-this-year",
        "voice-row-balance",
        "voice-row-year-in",
        "voice-row-year-out",
        "voice-row-months-paid",
        "voice-row-months-paid-this-year",
        "voice-choose-identification",
        "voice-place-id-card",
        "voice-card-or-id-card",
        "voice-type-id-number",
        "voice-type-name",
        "voice-card-confirm",
        "voice-card-unsuitable",
        "voice-card-done-active",
        "voice-card-done-lost",
        "voice-card-done",
        "voice-cert-helper-identify",
        "voice-cert-type-pensioner-id",
        "voice-cert-type-pensioner-name",
        "voice-cert-due",
        "voice-cert-start",
        "voice-cert-already",
        "voice-cert-not-entitled",
        "voice-cert-preview",
        "voice-cert-preview-relative",
        "voice-cert-certified",
        "voice-cert-rejected",
        "voice-cert-received",
        "voice-proxies-full",
        "voice-proxies-list",
        "voice-proxy-type-id",
        "voice-proxy-type-name",
        "voice-proxy-confirm-add",
        "voice-proxy-confirm-remove",
        "voice-proxy-done",
        "voice-proof-choose-kind",
        "voice-proof-choose-years",
        "voice-proof-preview",
        "voice-speak-again",
    ];
    let mut keys: Vec<String> = fixed.iter().map(|k| k.to_string()).collect();
    for action in crate::flows::certification::LivenessAction::ALL {
        keys.push(format!("voice-action-{}", action.key()));
    }
    for problem in [
        crate::CaptureProblem::TooDark,
        crate::CaptureProblem::TooBright,
        crate::CaptureProblem::Blurred,
        crate::CaptureProblem::NoFace,
        crate::CaptureProblem::CameraFailed,
    ] {
        keys.push(format!("voice-capture-{}", problem.key()));
    }
    keys
}

const ZH_DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// A number as it is read aloud in Mandarin: 10 → 十, 105 → 一百零五, 20,000 → 两万.
pub fn zh_number(n: u64) -> String {
    if n == 0 {
        return ZH_DIGITS[0].into();
    }
    // Groups of four digits: 亿, 万, and the units.
    let groups = [
        (n / 100_000_000, "亿"),
        ((n / 10_000) % 10_000, "万"),
        (n % 10_000, ""),
    ];
    let mut out = String::new();
    let mut zero_pending = false;
    for (value, unit) in groups {
        if value == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if zero_pending || (!out.is_empty() && value < 1000) {
            out.push_str(ZH_DIGITS[0]);
        }
        out.push_str(&zh_group(value, out.is_empty()));
        out.push_str(unit);
        zero_pending = false;
    }
    out
}

/// 1–9999; `leading`: the number starts here (十五, not 一十五).
fn zh_group(n: u64, leading: bool) -> String {
    let digits = [n / 1000, (n / 100) % 10, (n / 10) % 10, n % 10];
    let units = ["千", "百", "十", ""];
    let mut out = String::new();
    let mut zero = false;
    for (i, (&d, unit)) in digits.iter().zip(units).enumerate() {
        if d == 0 {
            zero = !out.is_empty();
            continue;
        }
        if zero {
            out.push_str(ZH_DIGITS[0]);
            zero = false;
        }
        if i == 2 && d == 1 && out.is_empty() && leading {
            out.push('十');
        } else {
            out.push_str(ZH_DIGITS[d as usize]);
            out.push_str(unit);
        }
    }
    out
}

const EN_ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// A number in English words: 812 → "eight hundred twelve".
pub fn en_number(n: u64) -> String {
    if n < 20 {
        return EN_ONES[n as usize].into();
    }
    if n < 100 {
        let tens = EN_TENS[(n / 10) as usize];
        return match n % 10 {
            0 => tens.into(),
            ones => format!("{tens} {}", EN_ONES[ones as usize]),
        };
    }
    let (scale, name) = match n {
        n if n < 1_000 => (100, "hundred"),
        n if n < 1_000_000 => (1_000, "thousand"),
        n if n < 1_000_000_000 => (1_000_000, "million"),
        _ => (1_000_000_000, "billion"),
    };
    let head = format!("{} {name}", en_number(n / scale));
    match n % scale {
        0 => head,
        rest => format!("{head} {}", en_number(rest)),
    }
}

/// An argument in words, in `language`; `None` for [`Said::Text`], which the shell
/// translates.
pub fn words(said: &Said, language: Language) -> Option<String> {
    Some(match (said, language) {
        (Said::Number(n), Language::ZhCn) => zh_count(*n),
        (Said::Number(n), Language::EnUs) => en_number(*n),
        (Said::Money(fen), Language::ZhCn) => {
            let sign = if *fen < 0 { "负" } else { "" };
            let fen = fen.unsigned_abs();
            let (yuan, jiao, cents) = (fen / 100, (fen / 10) % 10, fen % 10);
            let mut out = format!("{sign}{}元", zh_number(yuan));
            match (jiao, cents) {
                (0, 0) => out.push('整'),
                (j, 0) => out.push_str(&format!("{}角", ZH_DIGITS[j as usize])),
                (0, c) => out.push_str(&format!("零{}分", ZH_DIGITS[c as usize])),
                (j, c) => out.push_str(&format!(
                    "{}角{}分",
                    ZH_DIGITS[j as usize], ZH_DIGITS[c as usize]
                )),
            }
            out
        }
        (Said::Money(fen), Language::EnUs) => {
            let sign = if *fen < 0 { "minus " } else { "" };
            let fen = fen.unsigned_abs();
            match fen % 100 {
                0 => format!("{sign}{} yuan", en_number(fen / 100)),
                cents => format!("{sign}{} yuan {}", en_number(fen / 100), en_number(cents)),
            }
        }
        (Said::Date(date), Language::ZhCn) => {
            // Years digit by digit: 二〇二七年.
            let year: String = date
                .year
                .unsigned_abs()
                .to_string()
                .chars()
                .map(|c| match c {
                    '0' => "〇",
                    c => ZH_DIGITS[c.to_digit(10).unwrap_or(0) as usize],
                })
                .collect();
            format!(
                "{year}年{}月{}日",
                zh_number(u64::from(date.month)),
                zh_number(u64::from(date.day))
            )
        }
        (Said::Date(date), Language::EnUs) => {
            let month = date.english_month().unwrap_or("");
            let year = date.year.unsigned_abs() as u64;
            let year_words = if (2010..2100).contains(&year) {
                format!("{} {}", en_number(year / 100), en_number(year % 100))
            } else {
                en_number(year)
            };
            format!("{month} {}, {year_words}", en_number(u64::from(date.day)))
        }
        (Said::Text(_), _) => return None,
    })
}

/// A count before a measure word: 两 for 2 (两位, 两次), otherwise the number.
fn zh_count(n: u64) -> String {
    if n == 2 {
        "两".into()
    } else {
        zh_number(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mandarin_numbers_are_read_as_spoken() {
        let cases = [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (15, "十五"),
            (30, "三十"),
            (105, "一百零五"),
            (110, "一百一十"),
            (1010, "一千零一十"),
            (2000, "二千"),
            (10_000, "一万"),
            (10_005, "一万零五"),
            (12_345, "一万二千三百四十五"),
            (100_000_000, "一亿"),
        ];
        for (n, said) in cases {
            assert_eq!(zh_number(n), said, "{n}");
        }
        assert_eq!(
            words(&Said::Number(2), Language::ZhCn).expect("said in words"),
            "两"
        );
    }

    #[test]
    fn english_numbers_sums_and_dates_are_words() {
        assert_eq!(en_number(812), "eight hundred twelve");
        assert_eq!(en_number(30), "thirty");
        assert_eq!(
            en_number(12_345),
            "twelve thousand three hundred forty five"
        );
        assert_eq!(
            words(&Said::Money(81_240), Language::EnUs).expect("said in words"),
            "eight hundred twelve yuan forty"
        );
        let date = Date {
            year: 2027,
            month: 3,
            day: 1,
        };
        assert_eq!(
            words(&Said::Date(date), Language::EnUs).expect("said in words"),
            "March one, twenty twenty seven"
        );
        assert_eq!(
            words(&Said::Date(date), Language::ZhCn).expect("said in words"),
            "二〇二七年三月一日"
        );
    }

    #[test]
    fn sums_in_mandarin_say_yuan_jiao_fen() {
        let cases = [
            (81_240, "八百一十二元四角"),
            (81_205, "八百一十二元零五分"),
            (100, "一元整"),
            (-250, "负二元五角"),
            (1_234_567, "一万二千三百四十五元六角七分"),
        ];
        for (fen, said) in cases {
            assert_eq!(
                words(&Said::Money(fen), Language::ZhCn).expect("said in words"),
                said,
                "{fen}"
            );
        }
    }

    #[test]
    fn summary_values_become_sums_counts_or_texts() {
        assert_eq!(said(&Cell::text("812.40")), Some(Said::Money(81_240)));
        assert_eq!(said(&Cell::text("-3.05 元")), Some(Said::Money(-305)));
        assert_eq!(said(&Cell::text("12")), Some(Said::Number(12)));
        assert_eq!(
            said(&Cell::key("card-state-active")),
            Some(Said::Text("card-state-active"))
        );
        assert_eq!(said(&Cell::text("张*")), None);
    }

    #[test]
    fn no_number_is_ever_said_digit_by_digit_as_a_symbol() {
        for n in [
            0u64,
            1,
            9,
            10,
            11,
            19,
            20,
            99,
            100,
            101,
            999,
            1000,
            9999,
            10_000,
            123_456_789,
        ] {
            for language in Language::ALL {
                let text = words(&Said::Number(n), language).expect("said in words");
                assert!(!text.chars().any(|c| c.is_ascii_digit()), "{n}: {text}");
            }
        }
    }
}
