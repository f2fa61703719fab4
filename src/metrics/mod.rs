//! What the terminal tells the fleet about itself: the Prometheus registry with its typed
//! handles, and the terminal's status (mode, readiness, device and paper states) that
//! `/health` and heartbeats read.
//!
//! One [`Metrics`] per kiosk, cheap to clone, handed to the adapters that update it: the
//! controller (sessions ended, views drawn, device states from each drawn view), the engine
//! (transactions, back-end latency), the back-end adapter (breakers, outbox, quarantine,
//! readiness, heartbeats), the printer adapter (paper). [`server`] serves it on loopback.
//!
//! Nothing personal ever reaches a label: labels are closed sets of words (operations,
//! routes, states), never a value a resident brought.

pub mod server;

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use serde::Serialize;

pub use crate::backend::api::{DeviceState, PaperState, TerminalMode};
use crate::core::session::Farewell;
use crate::core::{DeviceHealth, View};
use crate::logging::event;

/// The devices the terminal reports, in the order heartbeats and `/health` list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    CardReader,
    Printer,
    IdCardReader,
    Camera,
    A4Printer,
    Voice,
    /// The back end, as route availability shows it.
    Network,
}

impl Device {
    pub const ALL: [Device; 7] = [
        Device::CardReader,
        Device::Printer,
        Device::IdCardReader,
        Device::Camera,
        Device::A4Printer,
        Device::Voice,
        Device::Network,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Device::CardReader => "card_reader",
            Device::Printer => "printer",
            Device::IdCardReader => "id_card_reader",
            Device::Camera => "camera",
            Device::A4Printer => "a4_printer",
            Device::Voice => "voice",
            Device::Network => "network",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The core's device health in XFS4IoT's words.
pub fn device_state(health: DeviceHealth) -> DeviceState {
    match health {
        DeviceHealth::Unknown => DeviceState::Starting,
        DeviceHealth::Online => DeviceState::Online,
        DeviceHealth::Offline => DeviceState::Offline,
        DeviceHealth::NoDevice => DeviceState::NoDevice,
        DeviceHealth::HardwareError => DeviceState::HardwareError,
    }
}

/// The receipt printer's paper sensor in the contract's words.
pub fn paper_state(paper: crate::printer::PaperStatus) -> PaperState {
    match paper {
        crate::printer::PaperStatus::Full => PaperState::Full,
        crate::printer::PaperStatus::Low => PaperState::Low,
        crate::printer::PaperStatus::Out => PaperState::Out,
        crate::printer::PaperStatus::Unknown => PaperState::Unknown,
    }
}

/// What ended a resident's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// Nobody touched the screen through the idle warning.
    Idle,
    /// The card was taken out.
    CardRemoved,
    Other,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Idle => "idle",
            EndedBy::CardRemoved => "card_removed",
            EndedBy::Other => "other",
        }
    }
}

/// A circuit breaker's state, as the metric labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];

    fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

impl From<renshe_exactly_once::Breaker> for BreakerState {
    fn from(breaker: renshe_exactly_once::Breaker) -> BreakerState {
        match breaker {
            renshe_exactly_once::Breaker::Closed { .. } => BreakerState::Closed,
            renshe_exactly_once::Breaker::Open { .. } => BreakerState::Open,
            renshe_exactly_once::Breaker::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// The terminal's status as `/health` and heartbeats report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub mode: TerminalMode,
    /// Journal recovery is done: every unknown outcome resolved.
    pub ready: bool,
    devices: [DeviceState; Device::ALL.len()],
    pub paper: PaperState,
}

impl Status {
    pub fn device(&self, device: Device) -> DeviceState {
        self.devices[device.index()]
    }

    /// Residents can be served: recovered and in service.
    pub fn serving(&self) -> bool {
        self.ready && self.mode == TerminalMode::InService
    }
}

/// `GET /health`'s body.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub version: &'static str,
    pub commit: &'static str,
    pub mode: TerminalMode,
    pub ready: bool,
    pub serving: bool,
    pub devices: std::collections::BTreeMap<&'static str, DeviceState>,
    pub paper: PaperState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    ended_by: &'static str,
    farewell: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransactionLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabels {
    route: &'static str,
    endpoint: u32,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabels {
    trigger: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The kiosk's metrics and status; clones share them.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    sessions: Family<SessionLabels, Counter>,
    transactions: Family<TransactionLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    breakers: Family<BreakerLabels, Gauge>,
    devices: Family<DeviceLabels, Gauge>,
    paper: Family<StateLabels, Gauge>,
    mode: Family<ModeLabels, Gauge>,
    ready: Gauge,
    outbox_pending: Gauge,
    outbox_oldest_age: FloatGauge,
    quarantined: Gauge,
    rss: Gauge<i64, AtomicI64>,
    pss: Gauge<i64, AtomicI64>,
    views_drawn: Counter,
    heartbeats: Family<TriggerLabels, Counter>,
    status: Mutex<Status>,
    /// Woken on every status change: the back-end task sends a heartbeat at once.
    changed: tokio::sync::Notify,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry: in service, not ready, every device starting.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kiosk");
        let build = Info::new(vec![
            ("version", crate::VERSION),
            ("commit", crate::GIT_COMMIT),
        ]);
        registry.register(
            "build",
            "The kiosk's version and the git commit it was built from",
            build,
        );
        let started: Gauge = Gauge::default();
        started.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        );
        registry.register(
            "start_time_seconds",
            "When this run of the kiosk started (Unix time): a restart loop shows here",
            started,
        );
        let sessions = Family::<SessionLabels, Counter>::default();
        registry.register(
            "sessions_ended",
            "Residents' sessions ended, by what ended them and whether a service was left unfinished",
            sessions.clone(),
        );
        let transactions = Family::<TransactionLabels, Counter>::default();
        registry.register(
            "transactions",
            "Back-end operations by operation and outcome (applied, rejected, unknown, voided, deferred, unavailable, error)",
            transactions.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 5 ms … ~20 s.
            Histogram::new(exponential_buckets(0.005, 2.0, 13))
        });
        registry.register_with_unit(
            "backend_request_duration",
            "One HTTP exchange with the back end, by route, answered or not",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let breakers = Family::<BreakerLabels, Gauge>::default();
        registry.register(
            "backend_breaker_state",
            "Each route endpoint's circuit breaker: 1 for its current state",
            breakers.clone(),
        );
        let devices = Family::<DeviceLabels, Gauge>::default();
        registry.register(
            "device_state",
            "Each device's state in XFS4IoT's words: 1 for its current state",
            devices.clone(),
        );
        let paper = Family::<StateLabels, Gauge>::default();
        registry.register(
            "printer_paper_state",
            "The receipt printer's paper (full, low, out, unknown): 1 for the current state",
            paper.clone(),
        );
        let mode = Family::<ModeLabels, Gauge>::default();
        registry.register(
            "terminal_mode",
            "Whom the terminal serves (in_service, maintenance, out_of_service): 1 for the current mode",
            mode.clone(),
        );
        let ready: Gauge = Gauge::default();
        registry.register(
            "ready",
            "1 once journal recovery is done (no unknown outcome left)",
            ready.clone(),
        );
        let outbox_pending: Gauge = Gauge::default();
        registry.register(
            "outbox_pending",
            "Messages waiting in the store-and-forward outbox",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = FloatGauge::default();
        registry.register_with_unit(
            "outbox_oldest_pending_age",
            "Age of the oldest message waiting in the outbox (0 when empty)",
            prometheus_client::registry::Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let quarantined: Gauge = Gauge::default();
        registry.register(
            "journal_quarantined",
            "Operations recovery set aside for a technician",
            quarantined.clone(),
        );
        let rss = Gauge::<i64, AtomicI64>::default();
        registry.register_with_unit(
            "resident_memory",
            "Resident set size (VmRSS of /proc/self/status)",
            prometheus_client::registry::Unit::Bytes,
            rss.clone(),
        );
        let pss = Gauge::<i64, AtomicI64>::default();
        registry.register_with_unit(
            "proportional_memory",
            "Proportional set size (/proc/self/smaps_rollup): shared pages counted in part",
            prometheus_client::registry::Unit::Bytes,
            pss.clone(),
        );
        let views_drawn = Counter::default();
        registry.register(
            "views_drawn",
            "Views the controller drew onto the window (a redraw after a change)",
            views_drawn.clone(),
        );
        let heartbeats = Family::<TriggerLabels, Counter>::default();
        registry.register(
            "heartbeats_queued",
            "Heartbeats queued for the back end: periodic, or at once on a status change",
            heartbeats.clone(),
        );
        let status = Status {
            mode: TerminalMode::InService,
            ready: false,
            devices: [DeviceState::Starting; Device::ALL.len()],
            paper: PaperState::Unknown,
        };
        let metrics = Metrics {
            inner: Arc::new(Inner {
                registry,
                sessions,
                transactions,
                latency,
                breakers,
                devices,
                paper,
                mode,
                ready,
                outbox_pending,
                outbox_oldest_age,
                quarantined,
                rss,
                pss,
                views_drawn,
                heartbeats,
                status: Mutex::new(status),
                changed: tokio::sync::Notify::new(),
            }),
        };
        metrics.publish(&status);
        metrics
    }

    /// The status now.
    pub fn status(&self) -> Status {
        *self.lock()
    }

    /// What `GET /health` answers.
    pub fn health(&self) -> Health {
        let status = self.status();
        Health {
            version: crate::VERSION,
            commit: crate::GIT_COMMIT,
            mode: status.mode,
            ready: status.ready,
            serving: status.serving(),
            devices: Device::ALL
                .iter()
                .map(|device| (device.as_str(), status.device(*device)))
                .collect(),
            paper: status.paper,
        }
    }

    /// Sets whom the terminal serves: technician mode sets `Maintenance` on entry and
    /// `InService` on leaving. `OutOfService` (a full disk, records that cannot be opened)
    /// stays until the kiosk restarts: no other mode replaces it. Shown at once in
    /// `/health` and the metrics, and sent in a heartbeat.
    pub fn set_mode(&self, mode: TerminalMode) {
        self.update(|status| {
            if status.mode == TerminalMode::OutOfService && mode != TerminalMode::OutOfService {
                tracing::warn!(
                    event = event::TERMINAL_MODE,
                    refused = mode.as_str(),
                    "the terminal stays out of service until it restarts"
                );
                return;
            }
            if status.mode != mode {
                tracing::info!(
                    event = event::TERMINAL_MODE,
                    mode = mode.as_str(),
                    "terminal mode"
                );
            }
            status.mode = mode;
        });
    }

    pub fn mode(&self) -> TerminalMode {
        self.lock().mode
    }

    /// Journal recovery is done (or, `false`, unknown outcomes remain).
    pub fn set_ready(&self, ready: bool) {
        self.update(|status| status.ready = ready);
    }

    /// The devices' health as the drawn view shows it; a change is logged and sent in a
    /// heartbeat at once.
    pub fn observe_view(&self, view: &View) {
        self.inner.views_drawn.inc();
        let seen = [
            (Device::CardReader, view.card_reader),
            (Device::Printer, view.printer),
            (Device::IdCardReader, view.id_card_reader),
            (Device::Camera, view.camera),
            (Device::A4Printer, view.a4_printer.health),
            (Device::Voice, view.voice_device),
            (Device::Network, view.network),
        ];
        self.update(|status| {
            for (device, health) in seen {
                let state = device_state(health);
                let slot = &mut status.devices[device.index()];
                if *slot != state {
                    tracing::info!(
                        event = event::DEVICE_CHANGED,
                        device = device.as_str(),
                        state = state.as_str(),
                        "device state"
                    );
                    *slot = state;
                }
            }
        });
    }

    /// The receipt printer's paper sensor, read before and after each job.
    pub fn set_paper(&self, paper: PaperState) {
        self.update(|status| {
            if status.paper != paper {
                tracing::info!(
                    event = event::PAPER_CHANGED,
                    paper = paper.as_str(),
                    "receipt paper"
                );
            }
            status.paper = paper;
        });
    }

    /// A resident's session ended; `farewell` is what the attract page says of it.
    pub fn session_ended(&self, ended_by: EndedBy, farewell: Option<Farewell>) {
        let farewell = match farewell {
            None => "none",
            Some(Farewell::Interrupted) => "interrupted",
            Some(Farewell::BeingConfirmed) => "being_confirmed",
        };
        self.inner
            .sessions
            .get_or_create(&SessionLabels {
                ended_by: ended_by.as_str(),
                farewell,
            })
            .inc();
    }

    /// One back-end operation ended with `outcome`.
    pub fn transaction(&self, operation: &'static str, outcome: &'static str) {
        self.inner
            .transactions
            .get_or_create(&TransactionLabels { operation, outcome })
            .inc();
    }

    /// One HTTP exchange with `route` took `seconds`.
    pub fn backend_request(&self, route: &'static str, seconds: f64) {
        self.inner
            .latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// Every endpoint's breaker of `route`, in failover order.
    pub fn breakers(&self, route: &'static str, breakers: &[BreakerState]) {
        for (endpoint, now) in breakers.iter().enumerate() {
            for state in BreakerState::ALL {
                self.inner
                    .breakers
                    .get_or_create(&BreakerLabels {
                        route,
                        endpoint: endpoint as u32,
                        state: state.as_str(),
                    })
                    .set(i64::from(state == *now));
            }
        }
    }

    /// The outbox: messages waiting, and the oldest one's age.
    pub fn outbox(&self, pending: u64, oldest_age_seconds: f64) {
        self.inner
            .outbox_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.inner
            .outbox_oldest_age
            .set(oldest_age_seconds.max(0.0));
    }

    pub fn quarantined(&self, entries: u32) {
        self.inner.quarantined.set(i64::from(entries));
    }

    /// A heartbeat was queued, `periodic` or on a status change.
    pub fn heartbeat_queued(&self, periodic: bool) {
        let trigger = if periodic { "periodic" } else { "change" };
        self.inner
            .heartbeats
            .get_or_create(&TriggerLabels { trigger })
            .inc();
    }

    /// Waits for the next status change (mode, readiness, a device, the paper).
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// The metrics in the OpenMetrics text format, the process's memory read now.
    pub fn render(&self) -> String {
        if let Some(rss) = resident_bytes() {
            self.inner.rss.set(rss);
        }
        if let Some(pss) = proportional_bytes() {
            self.inner.pss.set(pss);
        }
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in a label.
        if let Err(error) =
            prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)
        {
            tracing::error!(event = event::METRICS_FAILED, %error, "metrics not encoded");
        }
        text
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        // A panic while holding it left plain data behind: still good to read.
        self.inner
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the status; when it changed, publishes the gauges and wakes the heartbeat.
    fn update(&self, change: impl FnOnce(&mut Status)) {
        let (before, after) = {
            let mut status = self.lock();
            let before = *status;
            change(&mut status);
            (before, *status)
        };
        if before != after {
            self.publish(&after);
            self.inner.changed.notify_one();
        }
    }

    fn publish(&self, status: &Status) {
        for device in Device::ALL {
            for state in DeviceState::ALL {
                self.inner
                    .devices
                    .get_or_create(&DeviceLabels {
                        device: device.as_str(),
                        state: state.as_str(),
                    })
                    .set(i64::from(status.device(device) == state));
            }
        }
        for paper in PaperState::ALL {
            self.inner
                .paper
                .get_or_create(&StateLabels {
                    state: paper.as_str(),
                })
                .set(i64::from(status.paper == paper));
        }
        for mode in TerminalMode::ALL {
            self.inner
                .mode
                .get_or_create(&ModeLabels {
                    mode: mode.as_str(),
                })
                .set(i64::from(status.mode == mode));
        }
        self.inner.ready.set(i64::from(status.ready));
    }
}

/// This process's resident set, in bytes (`VmRSS:` of `/proc/self/status`, which is in kB
/// and so needs no page size, unlike `statm`).
pub fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kb_field(&status, "VmRSS:").map(|kb| kb * 1024)
}

/// This process's proportional set, in bytes (`Pss:` of `/proc/self/smaps_rollup`).
pub fn proportional_bytes() -> Option<i64> {
    smaps_rollup_kb("Pss:").map(|kb| kb * 1024)
}

/// One `kB` figure of `/proc/self/smaps_rollup`, e.g. `Rss:` or `Pss:`.
pub fn smaps_rollup_kb(field: &str) -> Option<i64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    kb_field(&text, field)
}

/// `Field:   1234 kB` → 1234.
fn kb_field(text: &str, field: &str) -> Option<i64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, line_start: &str) -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn the_mode_shows_in_health_and_metrics_and_out_of_service_stays() {
        let metrics = Metrics::new();
        assert!(!metrics.status().serving(), "not ready before recovery");
        metrics.set_ready(true);
        assert!(metrics.health().serving);
        metrics.set_mode(TerminalMode::Maintenance);
        let health = metrics.health();
        assert_eq!(health.mode, TerminalMode::Maintenance);
        assert!(!health.serving);
        let text = metrics.render();
        assert_eq!(
            sample(&text, "kiosk_terminal_mode{mode=\"maintenance\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "kiosk_terminal_mode{mode=\"in_service\"}"),
            Some(0.0)
        );
        metrics.set_mode(TerminalMode::OutOfService);
        metrics.set_mode(TerminalMode::InService);
        assert_eq!(metrics.mode(), TerminalMode::OutOfService);
    }

    #[test]
    fn a_status_change_wakes_the_heartbeat_and_no_change_does_not() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let metrics = Metrics::new();
        let woken = |metrics: &Metrics| {
            runtime.block_on(async {
                tokio::time::timeout(std::time::Duration::from_millis(50), metrics.changed())
                    .await
                    .is_ok()
            })
        };
        metrics.set_paper(PaperState::Low);
        assert!(woken(&metrics), "a change wakes it");
        metrics.set_paper(PaperState::Low);
        assert!(!woken(&metrics), "the same paper again is no change");
        metrics.set_mode(TerminalMode::Maintenance);
        assert!(woken(&metrics));
    }

    #[test]
    fn every_state_of_a_state_set_is_published_with_one_set() {
        let metrics = Metrics::new();
        metrics.set_paper(PaperState::Out);
        metrics.breakers("card", &[BreakerState::Open, BreakerState::Closed]);
        let text = metrics.render();
        for paper in PaperState::ALL {
            let expected = if paper == PaperState::Out { 1.0 } else { 0.0 };
            let line = format!("kiosk_printer_paper_state{{state=\"{}\"}}", paper.as_str());
            assert_eq!(sample(&text, &line), Some(expected), "{line}");
        }
        let devices = text
            .lines()
            .filter(|line| line.starts_with("kiosk_device_state{device=\"printer\""))
            .count();
        assert_eq!(devices, DeviceState::ALL.len());
        assert_eq!(
            sample(
                &text,
                "kiosk_device_state{device=\"printer\",state=\"starting\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "kiosk_backend_breaker_state{route=\"card\",endpoint=\"0\",state=\"open\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "kiosk_backend_breaker_state{route=\"card\",endpoint=\"1\",state=\"open\"}"
            ),
            Some(0.0)
        );
        assert!(text.contains(&format!(
            "kiosk_build_info{{version=\"{}\",commit=\"{}\"}} 1",
            crate::VERSION,
            crate::GIT_COMMIT
        )));
        assert!(sample(&text, "kiosk_resident_memory_bytes").is_some_and(|b| b > 1e6));
        assert!(text.ends_with("# EOF\n"));
    }
}
