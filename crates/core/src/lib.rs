//! The functional core: what the kiosk does, without doing any I/O.
//!
//! Everything here is a pure function of its inputs. Time arrives as a [`Millis`] argument,
//! devices and back-end answers arrive as events, and the results leave as plain data
//! (a view to draw, commands for the shell to carry out). This crate directory must never
//! import slint, pcsc, serialport, rusqlite, reqwest or tokio.

pub mod districts;
pub mod identity;
pub mod receipt;
pub mod services;
pub mod session;

pub use services::{ServiceGroup, ServiceId};
pub use session::{
    Command, DeviceHealth, DeviceKind, Event, Page, PrintState, QueryRow, QueryState, Session,
    SessionSettings, View,
};

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
