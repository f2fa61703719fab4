//! The demo back end: implements the contract over real HTTP(S) on loopback, with synthetic
//! residents, dedupe by idempotency key, a ledger of applied operations (`GET /admin/ledger`)
//! and fault injection switchable at run time (`POST /admin/faults`).
//!
//! Demo mode starts it in-process with [`start`]; `renshe-kiosk backend-sim` runs it alone.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::api::{
    self, ApiError, CardState, CataloguePage, ErrorCode, LedgerEntry, Operation, TxState, TxStatus,
    IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER, TERMINAL_ID_HEADER,
};

/// The seed of the default synthetic population (demo mode and `soak` share it).
pub const DEFAULT_SEED: u64 = 2026;
/// Residents in the default population.
pub const DEFAULT_RESIDENTS: usize = 60;

/// The most points the demo back end puts in one catalogue page, whatever the kiosk asks.
pub const MAX_CATALOGUE_PAGE: usize = 2_000;
/// The page size when the kiosk names none.
pub const DEFAULT_CATALOGUE_PAGE: usize = 500;

/// Pages of the service-point catalogue.
pub trait CatalogueProvider: Send + Sync {
    /// The points changed since `since_version` whose ids are above `after`, in id order, at
    /// most `limit` (already within 1..=[`MAX_CATALOGUE_PAGE`]) of them; `more` when others
    /// follow.
    fn page(&self, since_version: u64, after: Option<u32>, limit: usize) -> CataloguePage;
}

/// The default catalogue: empty.
pub struct EmptyCatalogue;

impl CatalogueProvider for EmptyCatalogue {
    fn page(&self, since_version: u64, _after: Option<u32>, _limit: usize) -> CataloguePage {
        CataloguePage {
            version: since_version,
            items: Vec::new(),
            removed: Vec::new(),
            more: false,
        }
    }
}

/// Faults the sim injects into `/v1` answers, each with a probability in 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultPlan {
    /// Added to every answer, after the operation is applied (so clients time out late).
    pub delay_ms: u64,
    /// Answer 503 without applying.
    pub error_5xx: f64,
    /// Apply, then cut the connection in the middle of the answer.
    pub reset: f64,
    /// Apply, then answer 200 with broken JSON.
    pub malformed: f64,
    /// Deliver the request twice to the ledger logic (the second is deduped) and answer
    /// with the replayed copy.
    pub duplicate: f64,
    /// Faults left before the plan switches itself off (None: no limit).
    pub budget: Option<u32>,
    /// Paths (prefixes, e.g. `/v1/certifications/captures`) answered 503 without applying:
    /// one route down while the others work.
    pub unavailable: Vec<String>,
    /// A mutation takes this long to execute before it is applied; meanwhile its key's
    /// status is `in_progress` (the contract's "never void what is running").
    pub execution_ms: u64,
    /// The verdict every face attempt gets instead of "certified": `not_live`, `no_match`
    /// or `poor_image` (the demo cannot compare faces; this shows the other answers).
    pub certification_verdict: Option<String>,
}

/// A synthetic resident.
#[derive(Clone, Serialize, Deserialize)]
pub struct Resident {
    pub person_id: String,
    pub name: String,
    pub id_number: String,
    pub card_number: String,
    pub card_state: CardState,
    pub birth_year: u16,
    pub insurances: Vec<api::Insurance>,
    pub contributions: Vec<api::ContributionMonth>,
    pub pension: Vec<api::PensionPayment>,
    pub medical_balance_fen: i64,
    #[serde(default)]
    pub medical_recent: Vec<api::MedicalSpending>,
    pub proxies: Vec<api::Proxy>,
    pub certified_years: Vec<u16>,
}

impl fmt::Debug for Resident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resident")
            .field("person_id", &self.person_id)
            .field("card_state", &self.card_state)
            .finish_non_exhaustive()
    }
}

/// GB 11643 check character for the first 17 digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(CHECK[(sum % 11) as usize] as char)
}

/// The deterministic synthetic population for `seed`.
pub fn synthetic_residents(seed: u64, count: usize) -> Vec<Resident> {
    const DISTRICTS: [&str; 8] = [
        "500101", "500103", "500104", "500105", "500106", "500107", "500108", "500112",
    ];
    const SURNAMES: [&str; 10] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
    const GIVEN: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇"];
    const EMPLOYERS: [&str; 4] = [
        "重庆长安汽车股份有限公司",
        "重庆市渝中区人民医院",
        "重庆小面餐饮有限公司",
        "灵活就业",
    ];
    const MEDICAL_PLACES: [&str; 4] = [
        "重庆医科大学附属第一医院",
        "渝中区人民医院",
        "桐君阁大药房（解放碑店）",
        "和平药房（较场口店）",
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let birth_year: u16 = rng.random_range(1950..=2000);
            let first17 = format!(
                "{}{}{:02}{:02}{:03}",
                DISTRICTS[i % DISTRICTS.len()],
                birth_year,
                rng.random_range(1..=12u32),
                rng.random_range(1..=28u32),
                rng.random_range(0..1000u32)
            );
            let check = id_check_char(&first17).unwrap_or('0');
            let start_year = (birth_year + 22).max(1995);
            let retired = birth_year <= 1965;
            let end_year = if retired { birth_year + 60 } else { 2026 };
            let mut base = rng.random_range(250_000..600_000u64);
            let employer = EMPLOYERS[rng.random_range(0..EMPLOYERS.len())];
            let mut contributions = Vec::new();
            for year in start_year..=end_year.min(2026) {
                // Some years were not paid (unemployment, moving away).
                if rng.random_range(0..20) == 0 {
                    continue;
                }
                for month in 1..=12u16 {
                    if year == 2026 && month > 10 {
                        break;
                    }
                    contributions.push(api::ContributionMonth {
                        month: format!("{year}-{month:02}"),
                        kind: "pension".into(),
                        base_fen: base,
                        personal_fen: base * 8 / 100,
                        employer_fen: base * 16 / 100,
                        employer: employer.into(),
                    });
                }
                base = base * 106 / 100;
            }
            // Three years of payments, so the kiosk's year chooser has something to choose.
            let pension = if retired {
                (2024..=2026)
                    .flat_map(|year| (1..=12).map(move |m| (year, m)))
                    .filter(|(year, m)| *year < 2026 || *m <= 10)
                    .map(|(year, m)| api::PensionPayment {
                        month: format!("{year}-{m:02}"),
                        amount_fen: base * 45 / 100,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let medical_recent = (0..rng.random_range(3..12u32))
                .map(|n| api::MedicalSpending {
                    date: format!("2026-{:02}-{:02}", 10 - (n / 3).min(9), 28 - (n % 3) * 9),
                    place: MEDICAL_PLACES[rng.random_range(0..MEDICAL_PLACES.len())].into(),
                    amount_fen: rng.random_range(800..60_000),
                })
                .collect();
            let card_state = match i % 10 {
                3 => CardState::NotActivated,
                7 => CardState::Blocked,
                _ => CardState::Active,
            };
            Resident {
                person_id: format!("P{:08}", 10_000_000 + i),
                name: format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                ),
                id_number: format!("{first17}{check}"),
                card_number: format!("CQ{:07}", 3_000_000 + i * 17),
                card_state,
                birth_year,
                insurances: vec![
                    api::Insurance {
                        kind: "pension".into(),
                        status: if retired { "receiving" } else { "paying" }.into(),
                        since: format!("{start_year}-01"),
                    },
                    api::Insurance {
                        kind: "medical".into(),
                        status: "paying".into(),
                        since: format!("{start_year}-01"),
                    },
                ],
                contributions,
                pension,
                medical_balance_fen: rng.random_range(0..2_000_000),
                medical_recent,
                proxies: Vec::new(),
                certified_years: Vec::new(),
            }
        })
        .collect()
}

/// A stored answer for an idempotency key.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    /// SHA-256 of the request's path and body: a retry must match it.
    request_hash: [u8; 32],
    status: u16,
    body: Box<str>,
    /// The order keys were answered in (the oldest are forgotten first).
    order: u64,
}

/// Keys, ledger entries and verification codes the demo back end keeps, the latest first: a
/// demo kiosk left running for weeks stays within bounds (a real back end keeps every key
/// for its retention, `docs/backend-api.md`). Far more than a terminal's day, so the daily
/// reconciliation and a crashed terminal's recovery still find theirs.
const KEYS_KEPT: usize = 20_000;

/// Everything that must survive a sim restart when `--state` is given.
#[derive(Serialize, Deserialize)]
struct Durable {
    residents: Vec<Resident>,
    answers: HashMap<String, Stored>,
    voided: HashSet<String>,
    /// The latest [`KEYS_KEPT`] applied operations.
    ledger: VecDeque<LedgerEntry>,
    /// Operations applied since the start of the state (the ledger's next `seq` - 1).
    #[serde(default)]
    applied: u64,
    /// Keys answered since the start of the state (the next answer's `order`).
    #[serde(default)]
    answered: u64,
    /// The latest receipts' verification codes and the operation each confirms.
    #[serde(default)]
    codes: VecDeque<(String, String)>,
}

impl Durable {
    fn new(residents: Vec<Resident>) -> Durable {
        Durable {
            residents,
            answers: HashMap::new(),
            voided: HashSet::new(),
            ledger: VecDeque::new(),
            applied: 0,
            answered: 0,
            codes: VecDeque::new(),
        }
    }

    fn remember_answer(&mut self, key: &str, request_hash: [u8; 32], status: u16, body: &str) {
        self.answered += 1;
        self.answers.insert(
            key.to_string(),
            Stored {
                request_hash,
                status,
                body: body.into(),
                order: self.answered,
            },
        );
        // Forget the oldest quarter at once: one scan per KEYS_KEPT / 4 answers.
        if self.answers.len() > KEYS_KEPT {
            let oldest_kept = self.answered - (KEYS_KEPT as u64 * 3 / 4);
            self.answers.retain(|_, stored| stored.order > oldest_kept);
        }
    }

    fn record_applied(&mut self, key: &str, terminal: &str, op: String) {
        self.applied += 1;
        self.ledger.push_back(LedgerEntry {
            seq: self.applied,
            idempotency_key: key.to_string(),
            terminal_id: terminal.to_string(),
            op,
            applied_on: api::utc_day(unix_ms_now()),
        });
        bound_to(&mut self.ledger, KEYS_KEPT);
    }

    fn remember_code(&mut self, code: String, op: &Operation) {
        self.codes.push_back((code, op.name().to_string()));
        bound_to(&mut self.codes, KEYS_KEPT);
    }

    fn code(&self, code: &str) -> Option<String> {
        self.codes
            .iter()
            .rev()
            .find(|(kept, _)| kept == code)
            .map(|(_, op)| op.clone())
    }
}

/// Drops the oldest (front) entries beyond `kept`.
fn bound_to<T>(queue: &mut VecDeque<T>, kept: usize) {
    while queue.len() > kept {
        queue.pop_front();
    }
}

struct SimState {
    durable: Durable,
    faults: FaultPlan,
    rng: StdRng,
    state_file: Option<PathBuf>,
    catalogue: Arc<dyn CatalogueProvider>,
    /// Where receipts' verification codes can be checked (this sim's own `/verify`).
    verify_base: String,
    desk: CertificationDesk,
    /// Proofs issued since start (part of each code, so a re-issue gets a new one).
    proofs_issued: u64,
    /// The latest proofs' codes, oldest first: `/verify` confirms them, memory stays bounded.
    proof_codes: std::collections::VecDeque<String>,
    /// The demo seal, drawn once.
    seal: Option<String>,
    /// Keys of mutations still executing (`execution_ms`): their status is `in_progress`.
    executing: std::collections::HashSet<String>,
    /// Each terminal's latest heartbeat and how many arrived (`GET /admin/heartbeats`).
    heartbeats: std::collections::BTreeMap<String, HeartbeatSeen>,
}

/// What the demo back end keeps of a terminal's heartbeats: the latest status, and a count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatSeen {
    pub received: u64,
    pub status: api::DeviceStatus,
}

/// Proof codes the demo back end remembers.
const PROOF_CODES: usize = 256;

/// Face attempts a pensioner has per day at the demo back end.
const CERTIFICATION_ATTEMPTS: u8 = 3;
/// Challenges and captures the desk remembers: the demo back end's memory stays bounded.
const DESK_CAPACITY: usize = 64;

/// The certification desk's short-lived state: challenges issued, captures received (only
/// whether they looked like JPEG stills — the images themselves are not kept), and failed
/// attempts per pensioner.
#[derive(Default)]
struct CertificationDesk {
    issued: u64,
    /// challenge id → (person id, number of actions)
    challenges: BTreeMap<String, (String, usize)>,
    /// capture id → (person id, challenge id)
    captures: BTreeMap<String, (String, String)>,
    failures: HashMap<String, u8>,
}

impl CertificationDesk {
    fn challenge(&mut self, person_id: &str, rng: &mut StdRng) -> api::Challenge {
        const ACTIONS: [&str; 4] = ["blink", "open_mouth", "nod", "turn"];
        self.issued += 1;
        let id = format!("CH{:06}", self.issued);
        let first = rng.random_range(0..ACTIONS.len());
        let second = (first + rng.random_range(1..ACTIONS.len())) % ACTIONS.len();
        let actions = vec![ACTIONS[first].to_string(), ACTIONS[second].to_string()];
        self.challenges
            .insert(id.clone(), (person_id.to_string(), actions.len()));
        bound(&mut self.challenges);
        api::Challenge { id, actions }
    }

    fn attempts_left(&self, person_id: &str) -> u8 {
        CERTIFICATION_ATTEMPTS.saturating_sub(self.failures.get(person_id).copied().unwrap_or(0))
    }
}

/// Drops the oldest entries (ids sort by issue order) beyond the desk's capacity.
fn bound<V>(map: &mut BTreeMap<String, V>) {
    while map.len() > DESK_CAPACITY {
        map.pop_first();
    }
}

/// A base64 JPEG still: starts with SOI, ends with EOI.
fn looks_like_jpeg(frame: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(frame)
        .is_ok_and(|bytes| bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]))
}

/// Born in 1966 or before (the ID number's 7th to 10th digits): drawing an old-age pension.
fn entitled_to_pension(resident: &Resident) -> bool {
    resident
        .id_number
        .get(6..10)
        .and_then(|year| year.parse::<u16>().ok())
        .is_some_and(|year| year <= 1966)
}

/// How to start the sim.
pub struct SimOptions {
    pub listen: SocketAddr,
    pub tls: Option<SimTls>,
    pub state_file: Option<PathBuf>,
    pub seed: u64,
    pub catalogue: Arc<dyn CatalogueProvider>,
    /// People whose cards exist elsewhere (demo mode's virtual cards): the first synthetic
    /// residents take their name, ID number and card number, so their cards find records.
    pub known_people: Vec<KnownPerson>,
}

/// A person the sim must know by name, ID number and card number.
#[derive(Clone)]
pub struct KnownPerson {
    pub name: String,
    pub id_number: String,
    pub card_number: String,
    pub card_state: CardState,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            state_file: None,
            seed: DEFAULT_SEED,
            catalogue: Arc::new(EmptyCatalogue),
            known_people: Vec::new(),
        }
    }
}

/// Server certificate, and the CA that client certificates must chain to.
#[derive(Clone)]
pub struct SimTls {
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// Client certificates are required and verified against this CA.
    pub client_ca_pem: String,
}

/// A generated test PKI: one CA, a server certificate for localhost/127.0.0.1, and a
/// terminal (client) certificate.
pub struct TestPki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("certificate generation failed: {0}")]
    Pki(#[from] rcgen::Error),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read the state file: {0}")]
    State(String),
}

impl TestPki {
    pub fn generate(terminal_id: &str) -> Result<TestPki, SimError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "renshe-kiosk test CA");
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(Vec::<String>::new())?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, terminal_id);
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &issuer)?;
        Ok(TestPki {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    pub fn sim_tls(&self) -> SimTls {
        SimTls {
            server_cert_pem: self.server_cert_pem.clone(),
            server_key_pem: self.server_key_pem.clone(),
            client_ca_pem: self.ca_pem.clone(),
        }
    }

    /// Writes the kiosk side (CA, client cert, client key) into `dir`.
    pub fn write_client_files(
        &self,
        dir: &std::path::Path,
    ) -> Result<super::config::TlsFiles, SimError> {
        let files = super::config::TlsFiles {
            ca_file: dir.join("ca.pem"),
            client_cert_file: dir.join("terminal.pem"),
            client_key_file: dir.join("terminal.key"),
        };
        std::fs::write(&files.ca_file, &self.ca_pem)?;
        std::fs::write(&files.client_cert_file, &self.client_cert_pem)?;
        // The kiosk refuses a private key others can read.
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&files.client_key_file)?
                .write_all(self.client_key_pem.as_bytes())?;
        }
        Ok(files)
    }
}

fn server_config(tls: &SimTls) -> Result<rustls::ServerConfig, SimError> {
    let err = |e: &dyn fmt::Display| SimError::Tls(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.client_ca_pem.as_bytes()) {
        roots.add(cert.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| err(&e))?;
    let chain = CertificateDer::pem_slice_iter(tls.server_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&e))?;
    let key = PrivateKeyDer::from_pem_slice(tls.server_key_pem.as_bytes()).map_err(|e| err(&e))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| err(&e))
}

/// A running sim.
pub struct SimHandle {
    url: String,
    addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// Base URL, e.g. `http://127.0.0.1:41234` (or `https://localhost:…` with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Each terminal's latest heartbeat.
    pub fn heartbeats(&self) -> std::collections::BTreeMap<String, HeartbeatSeen> {
        lock(&self.state).heartbeats.clone()
    }

    /// The operations applied so far, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        lock(&self.state).durable.ledger.iter().cloned().collect()
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        lock(&self.state).faults = plan;
    }

    pub fn residents(&self) -> Vec<Resident> {
        lock(&self.state).durable.residents.clone()
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn lock(state: &Mutex<SimState>) -> std::sync::MutexGuard<'_, SimState> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Gives the first residents the identities of `people` (their histories stay synthetic).
fn with_known_people(mut residents: Vec<Resident>, people: &[KnownPerson]) -> Vec<Resident> {
    for (resident, person) in residents.iter_mut().zip(people) {
        resident.name = person.name.clone();
        resident.id_number = person.id_number.clone();
        resident.card_number = person.card_number.clone();
        resident.card_state = person.card_state;
    }
    residents
}

/// Starts the sim on `options.listen` (port 0: a random free port).
pub async fn start(options: SimOptions) -> Result<SimHandle, SimError> {
    let durable = match &options.state_file {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)?;
            serde_json::from_str(&text).map_err(|e| SimError::State(e.to_string()))?
        }
        _ => Durable::new(with_known_people(
            synthetic_residents(options.seed, DEFAULT_RESIDENTS),
            &options.known_people,
        )),
    };
    let state = Arc::new(Mutex::new(SimState {
        durable,
        faults: FaultPlan::default(),
        rng: StdRng::seed_from_u64(options.seed ^ 0x5eed),
        state_file: options.state_file.clone(),
        catalogue: options.catalogue.clone(),
        verify_base: String::new(),
        desk: CertificationDesk::default(),
        proofs_issued: 0,
        proof_codes: std::collections::VecDeque::new(),
        seal: None,
        executing: std::collections::HashSet::new(),
        heartbeats: std::collections::BTreeMap::new(),
    }));
    let tls = match &options.tls {
        Some(t) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(server_config(t)?))),
        None => None,
    };
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let url = match &tls {
        Some(_) => format!("https://localhost:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    lock(&state).verify_base = format!("{url}/verify/");
    let router = router(state.clone());
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopped.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let service = TowerToHyperService::new(router.clone());
            let tls = tls.clone();
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                let served = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => http.serve_connection(TokioIo::new(s), service).await,
                        Err(e) => {
                            tracing::debug!(error = %e, "TLS handshake refused");
                            return;
                        }
                    },
                    None => http.serve_connection(TokioIo::new(stream), service).await,
                };
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
    });
    tracing::info!(%url, "demo back end listening");
    Ok(SimHandle {
        url,
        addr,
        state,
        stop,
        task,
    })
}

fn router(state: Arc<Mutex<SimState>>) -> Router {
    let mut router = Router::new()
        .route("/v1/transactions/{key}", get(tx_status))
        .route("/v1/transactions/{key}/void", post(tx_void))
        .route(api::JOURNAL_BATCH_PATH, post(operation))
        .route("/admin/ledger", get(admin_ledger))
        .route("/admin/heartbeats", get(admin_heartbeats))
        .route("/verify/{code}", get(verify_code))
        .route(
            "/admin/faults",
            get(admin_get_faults).post(admin_set_faults),
        );
    for path in api_paths() {
        router = router.route(&path, post(operation));
    }
    router.with_state(state)
}

fn api_paths() -> Vec<String> {
    // Derive the route list from the contract so the sim never drifts from it.
    let samples = [
        Operation::IdentifyHolder {
            id_number: String::new(),
            card_number: None,
        },
        Operation::QueryEnrollment {
            person_id: String::new(),
        },
        Operation::QueryContributions {
            person_id: String::new(),
            from_year: 0,
            to_year: 0,
        },
        Operation::QueryPensionPayments {
            person_id: String::new(),
        },
        Operation::QueryMedicalAccount {
            person_id: String::new(),
        },
        Operation::IssueProof {
            person_id: String::new(),
            kind: String::new(),
            years: Vec::new(),
        },
        Operation::ActivateCard {
            person_id: String::new(),
            card_number: String::new(),
        },
        Operation::ReportLoss {
            person_id: String::new(),
            card_number: String::new(),
        },
        Operation::ReleaseLoss {
            person_id: String::new(),
            card_number: String::new(),
        },
        Operation::QueryCertification {
            person_id: String::new(),
        },
        Operation::UploadCapture {
            person_id: String::new(),
            challenge_id: String::new(),
            frames: Vec::new(),
        },
        Operation::QueueCertification {
            person_id: String::new(),
            year: 0,
            method: String::new(),
            challenge_id: String::new(),
            helper_person_id: None,
            frames: Vec::new(),
        },
        Operation::SubmitCertification {
            person_id: String::new(),
            year: 0,
            method: String::new(),
            challenge_id: String::new(),
            capture_id: String::new(),
            helper_person_id: None,
        },
        Operation::ListProxies {
            person_id: String::new(),
        },
        Operation::AddProxy {
            person_id: String::new(),
            proxy_person_id: String::new(),
        },
        Operation::RemoveProxy {
            person_id: String::new(),
            proxy_person_id: String::new(),
        },
        Operation::CardCryptogram {
            card_id: String::new(),
            challenge: String::new(),
        },
        Operation::CatalogueSync {
            since_version: 0,
            after: None,
            limit: None,
        },
        Operation::Heartbeat {
            status: api::DeviceStatus::default(),
        },
        Operation::Reconciliation {
            date: String::new(),
        },
    ];
    samples.iter().map(|op| op.path()).collect()
}

fn json_response(status: u16, body: String, replayed: bool) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert(
            REPLAYED_HEADER,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

fn error_response(status: u16, code: ErrorCode, zh: &str, en: &str) -> Response {
    json_response(status, ApiError::new(code, zh, en).to_body(), false)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Error5xx,
    Reset,
    Malformed,
    Duplicate,
}

impl SimState {
    fn draw_fault(&mut self) -> (Fault, u64) {
        let plan = &mut self.faults;
        if plan.budget == Some(0) {
            return (Fault::None, 0);
        }
        let roll: f64 = self.rng.random_range(0.0..1.0);
        let mut edge = 0.0;
        let mut fault = Fault::None;
        for (p, f) in [
            (plan.error_5xx, Fault::Error5xx),
            (plan.reset, Fault::Reset),
            (plan.malformed, Fault::Malformed),
            (plan.duplicate, Fault::Duplicate),
        ] {
            edge += p;
            if roll < edge {
                fault = f;
                break;
            }
        }
        if fault != Fault::None || plan.delay_ms > 0 {
            if let Some(b) = plan.budget.as_mut() {
                *b = b.saturating_sub(1);
            }
        }
        (fault, plan.delay_ms)
    }

    fn persist(&self) {
        let Some(path) = &self.state_file else { return };
        let tmp = path.with_extension("tmp");
        let written = serde_json::to_vec(&self.durable)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot save the sim state");
        }
    }

    /// Applies (or replays) a request under its key. Returns (status, body, replayed).
    fn apply(&mut self, path: &str, key: &str, terminal: &str, body: &[u8]) -> (u16, String, bool) {
        let request_hash = {
            let mut h = Sha256::new();
            h.update(path.as_bytes());
            h.update([0]);
            h.update(body);
            <[u8; 32]>::from(h.finalize())
        };
        if let Some(stored) = self.durable.answers.get(key) {
            if stored.request_hash != request_hash {
                let e = ApiError::new(
                    ErrorCode::IdempotencyMismatch,
                    "同一业务编号的请求内容不一致，请联系工作人员",
                    "This request does not match the earlier one with the same key; please ask staff",
                );
                return (409, e.to_body(), false);
            }
            return (stored.status, stored.body.to_string(), true);
        }
        if self.durable.voided.contains(key) {
            let e = ApiError::new(
                ErrorCode::KeyVoided,
                "该业务已撤销，请重新办理",
                "This transaction was cancelled; please start again",
            );
            return (409, e.to_body(), false);
        }
        let (status, answer, op_name, mutation) = if path == api::JOURNAL_BATCH_PATH {
            match serde_json::from_slice::<api::JournalBatch>(body) {
                Ok(_) => (
                    200,
                    serde_json::json!({"received": true}).to_string(),
                    "journal_batch".to_string(),
                    true,
                ),
                Err(e) => (400, bad_request(&e.to_string()), String::new(), false),
            }
        } else {
            let below = path.trim_start_matches("/v1/");
            match Operation::from_request(below, body) {
                Ok(op) => {
                    let (status, answer) = self.execute(&op, terminal);
                    (status, answer, op.name().to_string(), op.is_mutation())
                }
                Err(e) => (400, bad_request(&e.to_string()), String::new(), false),
            }
        };
        if mutation {
            self.durable
                .remember_answer(key, request_hash, status, &answer);
            if (200..300).contains(&status) {
                self.durable.record_applied(key, terminal, op_name);
            }
            self.persist();
        }
        (status, answer, false)
    }

    fn resident(&mut self, person_id: &str) -> Result<&mut Resident, (u16, String)> {
        self.durable
            .residents
            .iter_mut()
            .find(|r| r.person_id == person_id)
            .ok_or_else(not_found)
    }

    /// The business rules. Returns (status, JSON body).
    fn execute(&mut self, op: &Operation, terminal: &str) -> (u16, String) {
        if let Operation::CatalogueSync {
            since_version,
            after,
            limit,
        } = op
        {
            // Serialised straight from the typed page: a page is never copied as generic JSON.
            let limit = limit.map_or(DEFAULT_CATALOGUE_PAGE, |limit| {
                usize::try_from(limit)
                    .unwrap_or(MAX_CATALOGUE_PAGE)
                    .clamp(1, MAX_CATALOGUE_PAGE)
            });
            let page = self.catalogue.page(*since_version, *after, limit);
            return match serde_json::to_string(&page) {
                Ok(body) => (200, body),
                Err(e) => (500, bad_request(&e.to_string())),
            };
        }
        let result: Result<serde_json::Value, (u16, String)> = (|| {
            match op {
                Operation::IdentifyHolder {
                    id_number,
                    card_number,
                } => {
                    let r = self
                        .durable
                        .residents
                        .iter()
                        .find(|r| {
                            &r.id_number == id_number
                                && card_number.as_ref().is_none_or(|c| c == &r.card_number)
                        })
                        .ok_or_else(not_found)?;
                    serde_json::to_value(api::Holder {
                        person_id: r.person_id.clone(),
                        name: r.name.clone(),
                        id_number: r.id_number.clone(),
                        card_number: r.card_number.clone(),
                        card_state: r.card_state,
                    })
                }
                Operation::QueryEnrollment { person_id } => {
                    let r = self.resident(person_id)?;
                    serde_json::to_value(api::Enrollment {
                        person_id: r.person_id.clone(),
                        insurances: r.insurances.clone(),
                    })
                }
                Operation::QueryContributions {
                    person_id,
                    from_year,
                    to_year,
                } => {
                    let r = self.resident(person_id)?;
                    let (from, to) = (format!("{from_year}-00"), format!("{to_year}-13"));
                    serde_json::to_value(api::Contributions {
                        person_id: r.person_id.clone(),
                        months: r
                            .contributions
                            .iter()
                            .filter(|m| m.month > from && m.month < to)
                            .cloned()
                            .collect(),
                    })
                }
                Operation::QueryPensionPayments { person_id } => {
                    let r = self.resident(person_id)?;
                    serde_json::to_value(api::PensionPayments {
                        person_id: r.person_id.clone(),
                        payments: r.pension.clone(),
                    })
                }
                Operation::QueryMedicalAccount { person_id } => {
                    let r = self.resident(person_id)?;
                    serde_json::to_value(api::MedicalAccount {
                        person_id: r.person_id.clone(),
                        balance_fen: r.medical_balance_fen,
                        year_in_fen: 120_000,
                        year_out_fen: 35_000,
                        recent: r.medical_recent.clone(),
                    })
                }
                Operation::IssueProof {
                    person_id,
                    kind,
                    years,
                } => {
                    let r = self.resident(person_id)?;
                    let (insurances, months) = proof_rows(r, kind, years);
                    if insurances.is_empty() && months.is_empty() {
                        return Err(reject(
                            ErrorCode::NotFound,
                            "所选年度没有缴费记录",
                            "No records for the years chosen",
                        ));
                    }
                    self.proofs_issued += 1;
                    let code = verification_code(op, self.proofs_issued);
                    self.proof_codes.push_back(code.clone());
                    bound_to(&mut self.proof_codes, PROOF_CODES);
                    if self.seal.is_none() {
                        use base64::Engine as _;
                        self.seal = super::seal::demo_seal_png()
                            .map(|png| base64::engine::general_purpose::STANDARD.encode(png));
                    }
                    serde_json::to_value(api::ProofReply {
                        kind: kind.clone(),
                        insurances,
                        months,
                        verify_url: format!("{}{code}", self.verify_base),
                        verification_code: code,
                        issued_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
                        seal_png_base64: self.seal.clone(),
                    })
                }
                Operation::ActivateCard {
                    person_id,
                    card_number,
                }
                | Operation::ReportLoss {
                    person_id,
                    card_number,
                }
                | Operation::ReleaseLoss {
                    person_id,
                    card_number,
                } => {
                    let r = self.resident(person_id)?;
                    if &r.card_number != card_number {
                        return Err(not_found());
                    }
                    use CardState::*;
                    let next = match (op, r.card_state) {
                        (_, Blocked) => {
                            return Err(reject(
                                ErrorCode::CardBlocked,
                                "此卡已停用，请到窗口办理",
                                "This card is blocked; please go to a service counter",
                            ))
                        }
                        (Operation::ActivateCard { .. }, NotActivated) => Active,
                        (Operation::ActivateCard { .. }, _) => {
                            return Err(reject(
                                ErrorCode::CardAlreadyActive,
                                "此卡已启用",
                                "This card is already active",
                            ))
                        }
                        (Operation::ReportLoss { .. }, Active) => TemporarilyLost,
                        (Operation::ReportLoss { .. }, TemporarilyLost) => {
                            return Err(reject(
                                ErrorCode::CardAlreadyLost,
                                "此卡已挂失",
                                "This card is already reported lost",
                            ))
                        }
                        (Operation::ReportLoss { .. }, _) => {
                            return Err(reject(
                                ErrorCode::CardNotActivated,
                                "此卡尚未启用",
                                "This card is not activated yet",
                            ))
                        }
                        (_, TemporarilyLost) => Active,
                        _ => {
                            return Err(reject(
                                ErrorCode::CardNotLost,
                                "此卡未挂失",
                                "This card is not reported lost",
                            ))
                        }
                    };
                    r.card_state = next;
                    let card_number = r.card_number.clone();
                    let code = verification_code(op, self.durable.applied);
                    let reply = api::CardStatusReply {
                        card_number,
                        card_state: next,
                        verification_code: Some(code.clone()),
                        verify_url: Some(format!("{}{code}", self.verify_base)),
                    };
                    self.durable.remember_code(code, op);
                    serde_json::to_value(reply)
                }
                Operation::QueryCertification { person_id } => {
                    let year = chrono::Datelike::year(&chrono::Local::now()) as u16;
                    let attempts_left = self.desk.attempts_left(person_id);
                    let r = self.resident(person_id)?;
                    let entitled = entitled_to_pension(r);
                    let certified = r.certified_years.contains(&year);
                    let last = r.certified_years.iter().max().copied();
                    let person_id = r.person_id.clone();
                    let challenge = self.desk.challenge(&person_id, &mut self.rng);
                    serde_json::to_value(api::CertificationStatusReply {
                        person_id,
                        cycle_year: year,
                        state: match (entitled, certified) {
                            (false, _) => "not_entitled",
                            (true, true) => "certified",
                            (true, false) => "due",
                        }
                        .into(),
                        due_by: (entitled && !certified).then(|| format!("{year}-12-31")),
                        certified_until: certified.then(|| format!("{}-06-30", year + 1)),
                        last_certified: last.map(|year| format!("{year}-03-15")),
                        challenge,
                        attempts_left,
                    })
                }
                Operation::UploadCapture {
                    person_id,
                    challenge_id,
                    frames,
                } => {
                    self.resident(person_id)?;
                    let expected = match self.desk.challenges.get(challenge_id) {
                        Some((owner, actions)) if owner == person_id => *actions,
                        _ => return Err((400, bad_request("unknown or expired challenge"))),
                    };
                    if frames.len() != expected || !frames.iter().all(|f| looks_like_jpeg(f)) {
                        return Err((
                            400,
                            bad_request(&format!(
                                "{} stills, {expected} expected, each a base64 JPEG",
                                frames.len()
                            )),
                        ));
                    }
                    self.desk.issued += 1;
                    let capture_id = format!("CP{:06}", self.desk.issued);
                    self.desk.captures.insert(
                        capture_id.clone(),
                        (person_id.clone(), challenge_id.clone()),
                    );
                    bound(&mut self.desk.captures);
                    serde_json::to_value(api::CaptureReceipt { capture_id })
                }
                Operation::SubmitCertification {
                    person_id,
                    year,
                    capture_id,
                    ..
                } => {
                    // Without a capture it is a certification by data comparison (静默认证),
                    // as the technicians' soak sends; with one, the face attempt's verdict.
                    if !capture_id.is_empty()
                        && !matches!(self.desk.captures.get(capture_id), Some((owner, _)) if owner == person_id)
                    {
                        return Err((400, bad_request("unknown or expired capture")));
                    }
                    let forced = self.faults.certification_verdict.clone();
                    let attempts_left = self.desk.attempts_left(person_id);
                    let r = self.resident(person_id)?;
                    if r.certified_years.contains(year) {
                        return Err(reject(
                            ErrorCode::AlreadyCertified,
                            "本年度已完成资格认证",
                            "Already certified for this year",
                        ));
                    }
                    let person_id = r.person_id.clone();
                    if let Some(reason) = forced.filter(|_| !capture_id.is_empty()) {
                        let attempts_left = attempts_left.saturating_sub(1);
                        *self.desk.failures.entry(person_id.clone()).or_default() += 1;
                        let next_challenge = (attempts_left > 0)
                            .then(|| self.desk.challenge(&person_id, &mut self.rng));
                        return serde_json::to_value(api::CertificationReceipt {
                            person_id,
                            year: *year,
                            verdict: "rejected".into(),
                            certified_until: String::new(),
                            reason: Some(reason),
                            attempts_left,
                            next_challenge,
                            verification_code: None,
                            verify_url: None,
                        })
                        .map_err(|e| (500, bad_request(&e.to_string())));
                    }
                    r.certified_years.push(*year);
                    let code = verification_code(op, self.durable.applied);
                    self.durable.remember_code(code.clone(), op);
                    serde_json::to_value(api::CertificationReceipt {
                        person_id,
                        year: *year,
                        verdict: "certified".into(),
                        certified_until: format!("{}-06-30", year + 1),
                        reason: None,
                        attempts_left,
                        next_challenge: None,
                        verify_url: Some(format!("{}{code}", self.verify_base)),
                        verification_code: Some(code),
                    })
                }
                Operation::QueueCertification {
                    person_id,
                    year,
                    frames,
                    ..
                } => {
                    // The demo cannot compare faces: an attempt with its stills that reaches
                    // the back end later certifies the year (the verdict would go by SMS).
                    if frames.is_empty() {
                        return Err((400, bad_request("a queued attempt carries its stills")));
                    }
                    let r = self.resident(person_id)?;
                    if !r.certified_years.contains(year) {
                        r.certified_years.push(*year);
                    }
                    serde_json::to_value(api::Ack { received: true })
                }
                Operation::ListProxies { person_id } => {
                    let r = self.resident(person_id)?;
                    serde_json::to_value(api::ProxyList {
                        person_id: r.person_id.clone(),
                        proxies: r.proxies.clone(),
                    })
                }
                Operation::AddProxy {
                    person_id,
                    proxy_person_id,
                }
                | Operation::RemoveProxy {
                    person_id,
                    proxy_person_id,
                } => {
                    let adding = matches!(op, Operation::AddProxy { .. });
                    let relative = self
                        .durable
                        .residents
                        .iter()
                        .find(|r| &r.person_id == proxy_person_id)
                        .map(|p| api::Proxy {
                            proxy_person_id: p.person_id.clone(),
                            proxy_id_number: p.id_number.clone(),
                            proxy_name: p.name.clone(),
                        })
                        .ok_or_else(not_found)?;
                    if proxy_person_id == person_id {
                        return Err(reject(
                            ErrorCode::InvalidRequest,
                            "不能绑定本人为代办人",
                            "A pensioner cannot be their own proxy",
                        ));
                    }
                    let r = self.resident(person_id)?;
                    let bound = r
                        .proxies
                        .iter()
                        .any(|p| &p.proxy_person_id == proxy_person_id);
                    match (adding, bound) {
                        (true, false) if r.proxies.len() >= api::MAX_PROXIES => {
                            return Err(reject(
                                ErrorCode::ProxyLimit,
                                "最多绑定4位代办人，请先解除一位",
                                "At most 4 proxies can be bound; remove one first",
                            ));
                        }
                        (true, false) => r.proxies.push(relative),
                        (false, true) => r.proxies.retain(|p| &p.proxy_person_id != proxy_person_id),
                        (false, false) => {
                            return Err(reject(
                                ErrorCode::ProxyNotFound,
                                "未找到该代办人",
                                "No such proxy",
                            ))
                        }
                        // Bound already: the same state, answered as applied.
                        (true, true) => {}
                    }
                    serde_json::to_value(api::ProxyIds {
                        person_id: r.person_id.clone(),
                        proxy_person_ids: r.proxies.iter().map(|p| p.proxy_person_id.clone()).collect(),
                    })
                }
                Operation::CardCryptogram { card_id, challenge } => {
                    // Stands in for the HSM: a keyed digest of card id and challenge.
                    let mut h = Sha256::new();
                    h.update(b"renshe-sim-hsm-key");
                    h.update(card_id.as_bytes());
                    h.update(challenge.as_bytes());
                    let digest = h.finalize();
                    let hex: String = digest[..16].iter().map(|b| format!("{b:02X}")).collect();
                    serde_json::to_value(api::Cryptogram { cryptogram: hex })
                }
                // Answered above, before the JSON value the other answers go through.
                Operation::CatalogueSync { .. } => Ok(serde_json::Value::Null),
                Operation::Heartbeat { status } => {
                    let seen = self
                        .heartbeats
                        .entry(terminal.to_string())
                        .or_insert_with(|| HeartbeatSeen {
                            received: 0,
                            status: status.clone(),
                        });
                    seen.received += 1;
                    seen.status = status.clone();
                    serde_json::to_value(api::Ack { received: true })
                }
                Operation::Reconciliation { date } => {
                    serde_json::to_value(api::ReconciliationReport {
                        date: date.clone(),
                        terminal_id: terminal.to_string(),
                        applied_keys: self
                            .durable
                            .ledger
                            .iter()
                            .filter(|e| e.terminal_id == terminal && &e.applied_on == date)
                            .map(|e| e.idempotency_key.clone())
                            .collect(),
                    })
                }
            }
            .map_err(|e| (500, bad_request(&e.to_string())))
        })();
        match result {
            Ok(v) => (200, v.to_string()),
            Err(e) => e,
        }
    }
}

fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn not_found() -> (u16, String) {
    reject_with(
        404,
        ErrorCode::NotFound,
        "未查询到相关信息",
        "No matching record was found",
    )
}

fn reject(code: ErrorCode, zh: &str, en: &str) -> (u16, String) {
    reject_with(422, code, zh, en)
}

fn reject_with(status: u16, code: ErrorCode, zh: &str, en: &str) -> (u16, String) {
    (status, ApiError::new(code, zh, en).to_body())
}

fn bad_request(detail: &str) -> String {
    ApiError::new(
        ErrorCode::InvalidRequest,
        "请求无效，请联系工作人员",
        &format!("Invalid request ({detail}); please ask staff"),
    )
    .to_body()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

async fn operation(
    State(state): State<Arc<Mutex<SimState>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(terminal), Some(key)) = (
        header(&headers, TERMINAL_ID_HEADER),
        header(&headers, IDEMPOTENCY_KEY_HEADER),
    ) else {
        return error_response(
            401,
            ErrorCode::UnauthorizedTerminal,
            "终端未授权",
            "This terminal is not authorised",
        );
    };
    let down = lock(&state)
        .faults
        .unavailable
        .iter()
        .any(|prefix| uri.path().starts_with(prefix.as_str()));
    let (fault, delay_ms) = lock(&state).draw_fault();
    if fault == Fault::Error5xx || down {
        return error_response(
            503,
            ErrorCode::Internal,
            "系统繁忙，请稍后再试",
            "The system is busy; please try again later",
        );
    }
    let execution_ms = lock(&state).faults.execution_ms;
    let mutation = uri.path() != api::JOURNAL_BATCH_PATH
        && Operation::from_request(uri.path().trim_start_matches("/v1/"), &body)
            .is_ok_and(|op| op.is_mutation());
    if mutation && execution_ms > 0 {
        // Bounded like the rest of the demo's memory: a key joins only while running.
        if !lock(&state).executing.insert(key.to_string()) {
            return error_response(503, ErrorCode::Internal, "系统繁忙", "Busy");
        }
        tokio::time::sleep(Duration::from_millis(execution_ms)).await;
        lock(&state).executing.remove(key);
    }
    let (status, answer, replayed) = {
        let mut s = lock(&state);
        let first = s.apply(uri.path(), key, terminal, &body);
        if fault == Fault::Duplicate {
            s.apply(uri.path(), key, terminal, &body)
        } else {
            first
        }
    };
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    fault_response(fault, status, answer, replayed)
}

fn fault_response(fault: Fault, status: u16, answer: String, replayed: bool) -> Response {
    match fault {
        Fault::Malformed => json_response(
            200,
            answer.chars().take(answer.len() / 2).collect(),
            replayed,
        ),
        Fault::Reset => {
            let half = Bytes::from(answer.as_bytes()[..answer.len() / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("injected reset"))];
            let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
        }
        _ => json_response(status, answer, replayed),
    }
}

fn tx_status_of(s: &SimState, key: &str) -> TxStatus {
    if s.executing.contains(key) {
        return TxStatus {
            idempotency_key: key.to_string(),
            state: TxState::InProgress,
            http_status: None,
            response: None,
        };
    }
    match s.durable.answers.get(key) {
        Some(stored) => TxStatus {
            idempotency_key: key.to_string(),
            state: if (200..300).contains(&stored.status) {
                TxState::Applied
            } else {
                TxState::Rejected
            },
            http_status: Some(stored.status),
            response: serde_json::from_str(&stored.body).ok(),
        },
        None => TxStatus {
            idempotency_key: key.to_string(),
            state: if s.durable.voided.contains(key) {
                TxState::Void
            } else {
                TxState::NotFound
            },
            http_status: None,
            response: None,
        },
    }
}

async fn tx_status(
    State(state): State<Arc<Mutex<SimState>>>,
    UrlPath(key): UrlPath<String>,
) -> Response {
    let (fault, delay_ms) = lock(&state).draw_fault();
    if fault == Fault::Error5xx {
        return error_response(503, ErrorCode::Internal, "系统繁忙", "Busy");
    }
    let status = tx_status_of(&lock(&state), &key);
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    json_response(
        200,
        serde_json::to_string(&status).unwrap_or_default(),
        false,
    )
}

async fn tx_void(
    State(state): State<Arc<Mutex<SimState>>>,
    UrlPath(key): UrlPath<String>,
) -> Response {
    let (fault, delay_ms) = lock(&state).draw_fault();
    if fault == Fault::Error5xx {
        return error_response(503, ErrorCode::Internal, "系统繁忙", "Busy");
    }
    let status = {
        let mut s = lock(&state);
        // A running key is never fenced: the void answers `in_progress` instead.
        if !s.executing.contains(&key)
            && !s.durable.answers.contains_key(&key)
            && s.durable.voided.insert(key.clone())
        {
            s.persist();
        }
        tx_status_of(&s, &key)
    };
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    json_response(
        200,
        serde_json::to_string(&status).unwrap_or_default(),
        false,
    )
}

/// A receipt's verification code: what it confirms, without whose it is.
async fn verify_code(
    State(state): State<Arc<Mutex<SimState>>>,
    UrlPath(code): UrlPath<String>,
) -> Response {
    let state = lock(&state);
    let proof = state
        .proof_codes
        .contains(&code)
        .then(|| "issue_proof".to_string());
    match state.durable.code(&code).or(proof) {
        Some(op) => {
            Json(serde_json::json!({"code": code, "valid": true, "operation": op})).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"code": code, "valid": false})),
        )
            .into_response(),
    }
}

/// Eight characters from the operation and its place in the ledger, grouped for reading
/// aloud (`K7Q2-9XMA`); no 0/O or 1/I to confuse.
fn verification_code(op: &Operation, applied: u64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut hash = Sha256::new();
    hash.update(op.body().as_bytes());
    hash.update(applied.to_be_bytes());
    let digest = hash.finalize();
    let chars: String = digest
        .iter()
        .take(8)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

async fn admin_ledger(State(state): State<Arc<Mutex<SimState>>>) -> Json<Vec<LedgerEntry>> {
    Json(lock(&state).durable.ledger.iter().cloned().collect())
}

async fn admin_heartbeats(
    State(state): State<Arc<Mutex<SimState>>>,
) -> Json<std::collections::BTreeMap<String, HeartbeatSeen>> {
    Json(lock(&state).heartbeats.clone())
}

async fn admin_get_faults(State(state): State<Arc<Mutex<SimState>>>) -> Json<FaultPlan> {
    Json(lock(&state).faults.clone())
}

async fn admin_set_faults(
    State(state): State<Arc<Mutex<SimState>>>,
    body: Bytes,
) -> impl IntoResponse {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            lock(&state).faults = plan;
            (StatusCode::OK, "{\"ok\":true}".to_string())
        }
        Err(e) => (StatusCode::BAD_REQUEST, bad_request(&e.to_string())),
    }
}

/// What a proof of `kind` for `years` shows of a resident: the insurances, or the months of
/// those years that have records.
pub fn proof_rows(
    r: &Resident,
    kind: &str,
    years: &[u16],
) -> (Vec<api::ProofInsurance>, Vec<api::ContributionMonth>) {
    if kind == "contributions" {
        let wanted: Vec<String> = years.iter().map(|y| format!("{y}-")).collect();
        let months = r
            .contributions
            .iter()
            .filter(|m| wanted.iter().any(|y| m.month.starts_with(y.as_str())))
            .cloned()
            .collect();
        (Vec::new(), months)
    } else {
        let place = demo_place(&r.person_id);
        let insurances = r
            .insurances
            .iter()
            .map(|i| api::ProofInsurance {
                kind: i.kind.clone(),
                status: i.status.clone(),
                since: i.since.clone(),
                place: place.clone(),
            })
            .collect();
        (insurances, Vec::new())
    }
}

/// A proof of demo resident `r` as the demo back end would issue it, for review off-line
/// (`proof render`): its code is the sim's, but no running sim will confirm it.
pub fn review_proof(r: &Resident, kind: &str, years: &[u16]) -> Option<api::ProofReply> {
    use base64::Engine as _;
    let (insurances, months) = proof_rows(r, kind, years);
    if insurances.is_empty() && months.is_empty() {
        return None;
    }
    let op = Operation::IssueProof {
        person_id: r.person_id.clone(),
        kind: kind.to_string(),
        years: years.to_vec(),
    };
    let code = verification_code(&op, 0);
    Some(api::ProofReply {
        kind: kind.to_string(),
        insurances,
        months,
        verify_url: format!("http://127.0.0.1:8480/verify/{code}"),
        verification_code: code,
        issued_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        seal_png_base64: super::seal::demo_seal_png()
            .map(|png| base64::engine::general_purpose::STANDARD.encode(png)),
    })
}

/// The demo residents as the demo back end holds them: `people` first, then synthetic ones.
pub fn demo_residents_with(people: &[KnownPerson]) -> Vec<Resident> {
    with_known_people(synthetic_residents(DEFAULT_SEED, DEFAULT_RESIDENTS), people)
}

/// Where a demo resident's insurance is held: one of the 38 districts, by person.
fn demo_place(person_id: &str) -> String {
    let districts = crate::core::districts::all();
    let hash = person_id.bytes().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    match districts.get(hash % districts.len().max(1)) {
        Some(district) => format!("重庆市{}", district.name),
        None => "重庆市".into(),
    }
}

/// Summary for logs: counts only.
pub fn ledger_counts(ledger: &[LedgerEntry]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for e in ledger {
        *counts.entry(e.op.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_keys_ledger_and_codes_stay_bounded_and_keep_the_latest() {
        let mut durable = Durable::new(Vec::new());
        let op = Operation::ReportLoss {
            person_id: "P1".into(),
            card_number: "C1".into(),
        };
        let total = KEYS_KEPT + KEYS_KEPT / 2;
        for i in 0..total {
            let key = format!("key-{i}");
            durable.remember_answer(&key, [0; 32], 200, "{}");
            durable.record_applied(&key, "CQ-T", "report_loss".into());
            durable.remember_code(format!("CODE-{i}"), &op);
            assert!(durable.answers.len() <= KEYS_KEPT);
        }
        assert!(durable.ledger.len() == KEYS_KEPT && durable.codes.len() == KEYS_KEPT);
        // The newest are all there; the oldest are gone; the ledger keeps counting.
        let last = format!("key-{}", total - 1);
        assert!(durable.answers.contains_key(&last));
        assert!(!durable.answers.contains_key("key-0"));
        assert!(durable.answers.len() >= KEYS_KEPT * 3 / 4);
        assert_eq!(durable.ledger.back().map(|e| e.seq), Some(total as u64));
        assert_eq!(
            durable.ledger.front().map(|e| e.idempotency_key.as_str()),
            Some(format!("key-{}", total - KEYS_KEPT).as_str())
        );
        assert_eq!(
            durable.code(&format!("CODE-{}", total - 1)).as_deref(),
            Some("report_loss")
        );
        assert_eq!(durable.code("CODE-0"), None);
    }

    #[test]
    fn synthetic_ids_have_valid_checksums_and_a_mix_of_card_states() {
        let residents = synthetic_residents(DEFAULT_SEED, DEFAULT_RESIDENTS);
        for r in &residents {
            assert_eq!(r.id_number.len(), 18);
            assert_eq!(
                id_check_char(&r.id_number[..17]),
                r.id_number.chars().last()
            );
        }
        assert!(residents.iter().any(|r| r.card_state == CardState::Blocked));
        assert!(residents
            .iter()
            .any(|r| r.card_state == CardState::NotActivated));
        assert!(residents.iter().all(|r| !r.contributions.is_empty()));
        // A known GB 11643 example: 11010519491231002X.
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
    }
}
