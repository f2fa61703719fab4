//! The functional core: what the kiosk does, without doing any I/O.
//!
//! Everything here is a pure function of its inputs. Time arrives as a [`Millis`] argument,
//! devices and back-end answers arrive as events, and the results leave as plain data
//! (a view to draw, commands for the shell to carry out). This crate must never
//! import slint, pcsc, serialport, rusqlite, reqwest or tokio.

pub mod districts;
pub mod entry;
pub mod failure;
pub mod flows;
pub mod identity;
pub mod pinpad;
pub mod receipt;
pub mod records;
pub mod services;
pub mod session;
pub mod technician;
pub mod ticket;
pub mod voice;

pub use failure::{
    BackendProblem, BilingualMessage, CardProblem, NextStep, PinProblem, PrintProblem, Rejection,
};
pub use flows::card::{
    CardAction, CardReply, CardServiceInput, CardServiceView, CardStep, Confirmation,
    Identification, PersonFound,
};
pub use flows::certification::{
    CaptureProblem, CertificationOutcome, CertificationReply, CertificationStatus,
    CertificationStep, CertificationView, CycleState, LivenessAction, LivenessChallenge, Pensioner,
    RejectReason, Verdict,
};
pub use flows::finder::{Filter, FinderInput, FinderView};
pub use flows::pin::{PinEntryView, PinInput, PinNotice, PinPrompt};
pub use flows::proof::{
    A4Status, EnrollmentLine, Paper, ProofAnswer, ProofDocument, ProofInput, ProofKind, ProofMonth,
    ProofStepView, ProofSummary, ProofView, ProofYear, YearSpan,
};
pub use flows::proxy::{ProxyChange, ProxyEntry, ProxyReceipt, ProxyReply, ProxyStep, ProxyView};
pub use flows::query::{Answer, QueryInput, QueryKind, QueryStepView, QueryView, YearChoice};
pub use flows::{FlowInput, FlowView, PrintState};
pub use services::{ServiceGroup, ServiceId};
pub use session::{
    Blocker, Command, DeviceHealth, DeviceKind, Document, Event, FlowId, Page, ReportedDevices,
    Request, Session, SessionSettings, View,
};
pub use ticket::Ticket;

/// A local calendar date, as the shell's clock gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// The month's English name; `None` for a month outside 1–12.
    pub fn english_month(self) -> Option<&'static str> {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        MONTHS.get(usize::from(self.month).checked_sub(1)?).copied()
    }
}

impl Default for Date {
    /// The epoch: obviously wrong on screen if the shell forgot to send today's date.
    fn default() -> Date {
        Date {
            year: 1970,
            month: 1,
            day: 1,
        }
    }
}

/// Seeds for the PIN pad's layouts: a SplitMix64 stream from one seed the shell injects (from
/// the OS's randomness in the kiosk, fixed in tests), so every appearance gets a new layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedStream(u64);

impl SeedStream {
    pub fn new(seed: u64) -> SeedStream {
        SeedStream(seed)
    }

    pub fn next_seed(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A point on the kiosk's monotonic clock, or a span of it, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const fn from_secs(seconds: u64) -> Millis {
        Millis(seconds * 1000)
    }

    pub fn saturating_sub(self, other: Millis) -> Millis {
        Millis(self.0.saturating_sub(other.0))
    }

    pub fn saturating_add(self, other: Millis) -> Millis {
        Millis(self.0.saturating_add(other.0))
    }
}

/// The languages the kiosk can speak. Adding one means a `locales/<tag>/` folder and a variant here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    ZhCn,
    EnUs,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::EnUs];

    /// The BCP 47 tag, which is also the locale folder's name.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::EnUs => "en-US",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.tag() == tag)
    }
}
