//! The back-end contract (`docs/backend-api.md`) as serde types, and the parsers of the back
//! end's JSON. Pure: no I/O. Every parser of outside bytes returns a typed error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The contract version, the first path segment of every operation.
pub const API_VERSION: &str = "v1";
/// Header carrying the terminal id (the mTLS client certificate proves it).
pub const TERMINAL_ID_HEADER: &str = "X-Terminal-Id";
/// Header carrying the idempotency key of the business operation.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Set by the back end on a response replayed from its idempotency store.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Years one 个人权益记录 may cover.
pub const MAX_PROOF_YEARS: usize = 3;
/// Proxies a holder may have bound at once.
pub const MAX_PROXIES: usize = 4;

/// The back-end systems operations are routed to; each has its own endpoints in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Identity,
    Insurance,
    Card,
    Certification,
    Proxy,
    Hsm,
    Catalogue,
    Terminal,
}

impl Service {
    pub const ALL: [Service; 8] = [
        Service::Identity,
        Service::Insurance,
        Service::Card,
        Service::Certification,
        Service::Proxy,
        Service::Hsm,
        Service::Catalogue,
        Service::Terminal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Identity => "identity",
            Service::Insurance => "insurance",
            Service::Card => "card",
            Service::Certification => "certification",
            Service::Proxy => "proxy",
            Service::Hsm => "hsm",
            Service::Catalogue => "catalogue",
            Service::Terminal => "terminal",
        }
    }

    pub fn parse(text: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A device's state as heartbeats and metrics report it: XFS4IoT's `Common.Status.Device`
/// words (`online`, `offline`, `noDevice`, `hardwareError`, `starting`). The dashed words
/// older kiosks sent are still read.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum DeviceState {
    #[serde(alias = "ok")]
    Online,
    Offline,
    #[serde(alias = "no-device")]
    NoDevice,
    #[serde(alias = "hardware-error")]
    HardwareError,
    /// Not reported yet since the kiosk started.
    #[default]
    #[serde(alias = "unknown")]
    Starting,
}

impl DeviceState {
    pub const ALL: [DeviceState; 5] = [
        DeviceState::Online,
        DeviceState::Offline,
        DeviceState::NoDevice,
        DeviceState::HardwareError,
        DeviceState::Starting,
    ];

    /// The word on the wire (and in metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Online => "online",
            DeviceState::Offline => "offline",
            DeviceState::NoDevice => "noDevice",
            DeviceState::HardwareError => "hardwareError",
            DeviceState::Starting => "starting",
        }
    }
}

/// The receipt printer's paper: XFS4IoT's `Printer.Status.Paper` words. Older kiosks' `ok`
/// is read as `full`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaperState {
    #[serde(alias = "ok")]
    Full,
    Low,
    Out,
    #[default]
    Unknown,
}

impl PaperState {
    pub const ALL: [PaperState; 4] = [
        PaperState::Full,
        PaperState::Low,
        PaperState::Out,
        PaperState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaperState::Full => "full",
            PaperState::Low => "low",
            PaperState::Out => "out",
            PaperState::Unknown => "unknown",
        }
    }
}

/// Whom the terminal serves now: residents, a technician (technician mode), or nobody (the
/// records cannot be written, e.g. a full disk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalMode {
    #[default]
    InService,
    Maintenance,
    OutOfService,
}

impl TerminalMode {
    pub const ALL: [TerminalMode; 3] = [
        TerminalMode::InService,
        TerminalMode::Maintenance,
        TerminalMode::OutOfService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TerminalMode::InService => "in_service",
            TerminalMode::Maintenance => "maintenance",
            TerminalMode::OutOfService => "out_of_service",
        }
    }
}

/// Device health reported with a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceStatus {
    pub card_reader: DeviceState,
    pub printer: DeviceState,
    pub paper: PaperState,
    /// The face camera, the A4 printer and the ID-card reader; absent from older kiosks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<DeviceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a4_printer: Option<DeviceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_card_reader: Option<DeviceState>,
    /// Whom the terminal serves (absent from older kiosks: in service).
    #[serde(default)]
    pub mode: TerminalMode,
    pub uptime_s: u64,
    /// The kiosk's version and the commit it was built from, so the fleet knows what runs.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub commit: String,
    /// The records: operations quarantined for a technician, differences the latest daily
    /// reconciliation found, and the journal chain's head (its last sequence number).
    #[serde(default)]
    pub quarantined: u32,
    #[serde(default)]
    pub reconciliation_differences: u32,
    #[serde(default)]
    pub journal_head: i64,
    /// The first journal entry whose keyed chain did not verify at start-up (absent: it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_chain_broken_at: Option<i64>,
    /// Days until the terminal's client certificate expires (absent without mTLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_days_left: Option<i64>,
}

/// A business operation with its parameters. The serialized `params` object is the request
/// body; retries send exactly the journaled bytes.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "params", rename_all = "snake_case")]
pub enum Operation {
    IdentifyHolder {
        id_number: String,
        card_number: Option<String>,
    },
    QueryEnrollment {
        person_id: String,
    },
    QueryContributions {
        person_id: String,
        from_year: u16,
        to_year: u16,
    },
    QueryPensionPayments {
        person_id: String,
    },
    QueryMedicalAccount {
        person_id: String,
    },
    /// A proof (参保证明 or 个人权益记录) with a verification code the back end issues and can
    /// confirm. A query: issuing again is harmless (another code for the same data).
    IssueProof {
        person_id: String,
        /// `enrollment` or `contributions`.
        kind: String,
        /// For contributions: the calendar years, oldest first; empty for enrollment.
        #[serde(default)]
        years: Vec<u16>,
    },
    ActivateCard {
        person_id: String,
        card_number: String,
    },
    ReportLoss {
        person_id: String,
        card_number: String,
    },
    ReleaseLoss {
        person_id: String,
        card_number: String,
    },
    /// This cycle's status and the liveness actions for an attempt.
    QueryCertification {
        person_id: String,
    },
    /// The stills of one attempt, held by the back end for a while under the returned
    /// `capture_id`. Changes no business state (re-sending stores another copy), so it is
    /// not journaled: face images never reach the terminal's disk.
    UploadCapture {
        person_id: String,
        challenge_id: String,
        /// JPEG stills, base64, one per action in the challenge's order.
        frames: Vec<String>,
    },
    /// The verdict on an uploaded attempt: journaled and exactly once, with no image in it.
    SubmitCertification {
        person_id: String,
        year: u16,
        /// `self`, or `helper` (帮你认: `helper_person_id` identified at the terminal).
        method: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        challenge_id: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        capture_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        helper_person_id: Option<String>,
    },
    /// A face attempt the terminal could not hand over while the certification route was
    /// down: its stills and its certification in one message, queued in the outbox (sealed)
    /// and sent once when the route is back. The back end answers with an acknowledgement;
    /// the verdict reaches the resident by SMS and at 12333, not at the terminal.
    QueueCertification {
        person_id: String,
        year: u16,
        method: String,
        challenge_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        helper_person_id: Option<String>,
        /// JPEG stills, base64, one per action in the challenge's order.
        frames: Vec<String>,
    },
    ListProxies {
        person_id: String,
    },
    /// Binds the relative the back end knows as `proxy_person_id` (identified first): no
    /// name or ID number in a journaled request.
    AddProxy {
        person_id: String,
        proxy_person_id: String,
    },
    RemoveProxy {
        person_id: String,
        proxy_person_id: String,
    },
    CardCryptogram {
        card_id: String,
        /// 8 bytes, 16 hex digits.
        challenge: String,
    },
    CatalogueSync {
        since_version: u64,
        /// Continue after this point id (the last id of the previous page); `None` for the
        /// first page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u32>,
        /// At most this many points in the page; `None` lets the back end choose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    Heartbeat {
        status: DeviceStatus,
    },
    Reconciliation {
        /// `YYYY-MM-DD`, the terminal's business day.
        date: String,
    },
}

// Parameters carry ID numbers and names: Debug shows the operation name only.
impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Operation::{}", self.name())
    }
}

/// (operation name, path below `/v1`, service, changes state at the back end)
const TABLE: &[(&str, &str, Service, bool)] = &[
    (
        "identify_holder",
        "holders/identify",
        Service::Identity,
        false,
    ),
    ("query_enrollment", "enrollment", Service::Insurance, false),
    (
        "query_contributions",
        "contributions",
        Service::Insurance,
        false,
    ),
    (
        "query_pension_payments",
        "pension-payments",
        Service::Insurance,
        false,
    ),
    (
        "query_medical_account",
        "medical-account",
        Service::Insurance,
        false,
    ),
    ("issue_proof", "proofs", Service::Insurance, false),
    ("activate_card", "cards/activate", Service::Card, true),
    ("report_loss", "cards/loss-report", Service::Card, true),
    ("release_loss", "cards/loss-release", Service::Card, true),
    (
        "query_certification",
        "certifications/status",
        Service::Certification,
        false,
    ),
    (
        "upload_capture",
        "certifications/captures",
        Service::Certification,
        false,
    ),
    (
        "submit_certification",
        "certifications",
        Service::Certification,
        true,
    ),
    (
        "queue_certification",
        "certifications/queued",
        Service::Certification,
        true,
    ),
    ("list_proxies", "proxies/list", Service::Proxy, false),
    ("add_proxy", "proxies/add", Service::Proxy, true),
    ("remove_proxy", "proxies/remove", Service::Proxy, true),
    ("card_cryptogram", "hsm/card-auth", Service::Hsm, false),
    (
        "catalogue_sync",
        "catalogue/sync",
        Service::Catalogue,
        false,
    ),
    // Latest-wins status, not an exactly-once mutation: never journaled (see `Engine::defer`).
    ("heartbeat", "heartbeats", Service::Terminal, false),
    ("reconciliation", "reconciliation", Service::Terminal, false),
];

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::IdentifyHolder { .. } => "identify_holder",
            Operation::QueryEnrollment { .. } => "query_enrollment",
            Operation::QueryContributions { .. } => "query_contributions",
            Operation::QueryPensionPayments { .. } => "query_pension_payments",
            Operation::QueryMedicalAccount { .. } => "query_medical_account",
            Operation::IssueProof { .. } => "issue_proof",
            Operation::ActivateCard { .. } => "activate_card",
            Operation::ReportLoss { .. } => "report_loss",
            Operation::ReleaseLoss { .. } => "release_loss",
            Operation::QueryCertification { .. } => "query_certification",
            Operation::UploadCapture { .. } => "upload_capture",
            Operation::SubmitCertification { .. } => "submit_certification",
            Operation::QueueCertification { .. } => "queue_certification",
            Operation::ListProxies { .. } => "list_proxies",
            Operation::AddProxy { .. } => "add_proxy",
            Operation::RemoveProxy { .. } => "remove_proxy",
            Operation::CardCryptogram { .. } => "card_cryptogram",
            Operation::CatalogueSync { .. } => "catalogue_sync",
            Operation::Heartbeat { .. } => "heartbeat",
            Operation::Reconciliation { .. } => "reconciliation",
        }
    }

    fn row(&self) -> &'static (&'static str, &'static str, Service, bool) {
        let name = self.name();
        // Every name is in TABLE (a unit test checks it), so the fallback is never taken.
        TABLE.iter().find(|r| r.0 == name).unwrap_or(&TABLE[0])
    }

    /// The request path, e.g. `/v1/cards/activate`.
    pub fn path(&self) -> String {
        format!("/{API_VERSION}/{}", self.row().1)
    }

    pub fn service(&self) -> Service {
        self.row().2
    }

    /// Whether the operation changes state at the back end (and so must happen exactly once).
    pub fn is_mutation(&self) -> bool {
        self.row().3
    }

    /// The request body: the parameters as JSON.
    pub fn body(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => map
                .remove("params")
                .map(|p| p.to_string())
                .unwrap_or_else(|| "{}".into()),
            _ => "{}".into(),
        }
    }

    /// The whole operation as stored in the journal.
    pub fn to_journal(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_journal(text: &str) -> Result<Operation, ParseError> {
        serde_json::from_str(text).map_err(|e| ParseError::from_serde("journaled operation", &e))
    }

    /// Parses a request as the back end receives it: the path below `/v1/` and the body.
    pub fn from_request(path: &str, body: &[u8]) -> Result<Operation, ParseError> {
        let name = TABLE
            .iter()
            .find(|r| r.1 == path)
            .map(|r| r.0)
            .ok_or_else(|| ParseError {
                what: "request path",
                detail: format!("no operation at /{API_VERSION}/{path}"),
            })?;
        let params: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_serde("request body", &e))?;
        let tagged = serde_json::json!({ "op": name, "params": params });
        let op: Operation = serde_json::from_value(tagged)
            .map_err(|e| ParseError::from_serde("request body", &e))?;
        op.validate()?;
        Ok(op)
    }

    /// Checks the parameter formats the contract fixes.
    pub fn validate(&self) -> Result<(), ParseError> {
        if let Operation::IssueProof { kind, years, .. } = self {
            let fine = match kind.as_str() {
                "enrollment" => years.is_empty(),
                "contributions" => !years.is_empty() && years.len() <= MAX_PROOF_YEARS,
                _ => false,
            };
            if !fine {
                return Err(ParseError {
                    what: "proof",
                    detail: format!(
                        "kind must be enrollment (no years) or contributions (1 to \
                         {MAX_PROOF_YEARS} years)"
                    ),
                });
            }
        }
        if let Operation::CardCryptogram { challenge, .. } = self {
            if !is_hex(challenge, 16) {
                return Err(ParseError {
                    what: "challenge",
                    detail: "must be 8 bytes as 16 hex digits".into(),
                });
            }
        }
        Ok(())
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why back-end bytes could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} from the back end: {detail}")]
pub struct ParseError {
    pub what: &'static str,
    pub detail: String,
}

impl ParseError {
    /// A serde error reduced to its category and position: serde's own text can quote the
    /// offending value (an ID number, a name), and this one reaches logs and the journal.
    pub fn from_serde(what: &'static str, e: &serde_json::Error) -> ParseError {
        let category = match e.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not well-formed JSON",
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            serde_json::error::Category::Eof => "cut short",
        };
        ParseError {
            what,
            detail: format!("{category} at line {} column {}", e.line(), e.column()),
        }
    }
}

/// Whether the operation named `name` (as journaled) is a mutation.
pub fn is_mutation_name(name: &str) -> bool {
    TABLE.iter().any(|r| r.0 == name && r.3)
}

/// Stable error codes; residents see the message, technicians and logs the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotFound,
    CardBlocked,
    CardNotActivated,
    CardAlreadyActive,
    CardAlreadyLost,
    CardNotLost,
    ProxyLimit,
    ProxyNotFound,
    AlreadyCertified,
    IdempotencyMismatch,
    KeyVoided,
    InvalidRequest,
    UnauthorizedTerminal,
    SystemTimeout,
    Internal,
    /// A code this build does not know (a newer back end).
    #[serde(other)]
    Unrecognized,
}

/// A message for residents in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentMessage {
    pub zh: String,
    pub en: String,
}

/// The back end's error body: `{"error": {"code": ..., "message": {"zh": ..., "en": ...}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: ResidentMessage,
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: ApiError,
}

impl ApiError {
    pub fn new(code: ErrorCode, zh: &str, en: &str) -> ApiError {
        ApiError {
            code,
            message: ResidentMessage {
                zh: zh.into(),
                en: en.into(),
            },
        }
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(&ErrorBody {
            error: self.clone(),
        })
        .unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<ApiError, ParseError> {
        serde_json::from_slice::<ErrorBody>(bytes)
            .map(|b| b.error)
            .map_err(|e| ParseError::from_serde("error body", &e))
    }
}

/// Card states the back end reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Active,
    NotActivated,
    TemporarilyLost,
    Blocked,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    pub person_id: String,
    pub name: String,
    pub id_number: String,
    pub card_number: String,
    pub card_state: CardState,
}

impl fmt::Debug for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Holder")
            .field("person_id", &self.person_id)
            .field("card_state", &self.card_state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    /// e.g. "pension", "medical", "unemployment", "work_injury".
    pub kind: String,
    pub status: String,
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub person_id: String,
    pub insurances: Vec<Insurance>,
}

/// One month of contributions, amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub kind: String,
    pub base_fen: u64,
    pub personal_fen: u64,
    pub employer_fen: u64,
    pub employer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contributions {
    pub person_id: String,
    pub months: Vec<ContributionMonth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PensionPayment {
    pub month: String,
    pub amount_fen: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PensionPayments {
    pub person_id: String,
    pub payments: Vec<PensionPayment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicalAccount {
    pub person_id: String,
    pub balance_fen: i64,
    pub year_in_fen: u64,
    pub year_out_fen: u64,
    /// The most recent spending from the account, newest first (absent from older back ends).
    #[serde(default)]
    pub recent: Vec<MedicalSpending>,
}

/// One payment from the personal medical account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicalSpending {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The hospital or pharmacy.
    pub place: String,
    pub amount_fen: u64,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardStatusReply {
    pub card_number: String,
    pub card_state: CardState,
    /// A code the back end issued with this result, for the receipt: anyone can check it at
    /// `verify_url` (the receipt's QR code). Absent from back ends that issue none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
}

/// The liveness actions for one attempt, in order: `blink`, `open_mouth`, `nod`, `turn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    pub id: String,
    pub actions: Vec<String>,
}

/// Where a pensioner stands in this year's certification cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationStatusReply {
    pub person_id: String,
    pub cycle_year: u16,
    /// `due`, `certified` or `not_entitled`.
    pub state: String,
    /// `YYYY-MM-DD`: due by (state `due`) or valid until (state `certified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_certified: Option<String>,
    pub challenge: Challenge,
    /// Face attempts still allowed today.
    pub attempts_left: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureReceipt {
    pub capture_id: String,
}

/// The verdict on an attempt. A rejection is an answer, not an error: it says why and
/// what comes next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationReceipt {
    pub person_id: String,
    pub year: u16,
    /// `certified` or `rejected`.
    #[serde(default = "certified")]
    pub verdict: String,
    #[serde(default)]
    pub certified_until: String,
    /// For a rejection: `not_live`, `no_match` or `poor_image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub attempts_left: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_challenge: Option<Challenge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
}

fn certified() -> String {
    "certified".into()
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    #[serde(default)]
    pub proxy_person_id: String,
    pub proxy_id_number: String,
    pub proxy_name: String,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proxy { .. }")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyList {
    pub person_id: String,
    pub proxies: Vec<Proxy>,
}

/// A binding change's answer: who is bound now, by the back end's ids only (it is journaled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyIds {
    pub person_id: String,
    pub proxy_person_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cryptogram {
    /// 16 bytes as 32 hex digits.
    pub cryptogram: String,
}

/// One page of the service-point catalogue, in id order. The items are the locator's
/// service points, parsed straight into their type (never held as generic JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CataloguePage {
    pub version: u64,
    pub items: Vec<crate::locator::catalogue::ServicePoint>,
    /// Ids removed since the requested version.
    pub removed: Vec<String>,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub received: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationReport {
    pub date: String,
    pub terminal_id: String,
    /// Idempotency keys of the operations the back end applied for this terminal that day.
    pub applied_keys: Vec<String>,
}

/// One insurance line of a 参保证明.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofInsurance {
    pub kind: String,
    pub status: String,
    pub since: String,
    /// Where it is held, e.g. "重庆市渝中区".
    pub place: String,
}

/// The back end's proof: its rows, the verification code it issued and where anyone can
/// check it, and its seal.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofReply {
    /// `enrollment` or `contributions`.
    pub kind: String,
    #[serde(default)]
    pub insurances: Vec<ProofInsurance>,
    /// The chosen years' months that have records.
    #[serde(default)]
    pub months: Vec<ContributionMonth>,
    pub verification_code: String,
    pub verify_url: String,
    /// `YYYY-MM-DD HH:MM`, the back end's local time.
    pub issued_at: String,
    /// The issuer's 电子印章, PNG as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_png_base64: Option<String>,
}

// Rows name employers and places; the seal is large: Debug shows the shape only.
impl fmt::Debug for ProofReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofReply")
            .field("kind", &self.kind)
            .field("insurances", &self.insurances.len())
            .field("months", &self.months.len())
            .field("seal", &self.seal_png_base64.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProofInsurance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProofInsurance { .. }")
    }
}

// The card number stays out of Debug output.
impl fmt::Debug for CardStatusReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardStatusReply")
            .field("card_state", &self.card_state)
            .field("verification_code", &self.verification_code)
            .finish_non_exhaustive()
    }
}

/// A typed successful answer. Its `Debug` names the kind of answer only: answers hold
/// names, card numbers, employers, payments and balances, and an outcome printed with `{:?}`
/// (a log line, a test failure) must carry none of them.
#[derive(Clone, PartialEq)]
pub enum Reply {
    Holder(Holder),
    Enrollment(Enrollment),
    Contributions(Contributions),
    PensionPayments(PensionPayments),
    MedicalAccount(MedicalAccount),
    Proof(ProofReply),
    Card(CardStatusReply),
    Certification(CertificationReceipt),
    CertificationStatus(CertificationStatusReply),
    Capture(CaptureReceipt),
    Proxies(ProxyList),
    ProxyIds(ProxyIds),
    Cryptogram(Cryptogram),
    Catalogue(CataloguePage),
    Ack(Ack),
    Reconciliation(ReconciliationReport),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Reply::Holder(_) => "Holder",
            Reply::Enrollment(_) => "Enrollment",
            Reply::Contributions(_) => "Contributions",
            Reply::PensionPayments(_) => "PensionPayments",
            Reply::MedicalAccount(_) => "MedicalAccount",
            Reply::Proof(_) => "Proof",
            Reply::Card(_) => "Card",
            Reply::Certification(_) => "Certification",
            Reply::CertificationStatus(_) => "CertificationStatus",
            Reply::Capture(_) => "Capture",
            Reply::Proxies(_) => "Proxies",
            Reply::ProxyIds(_) => "ProxyIds",
            Reply::Cryptogram(_) => "Cryptogram",
            Reply::Catalogue(_) => "Catalogue",
            Reply::Ack(_) => "Ack",
            Reply::Reconciliation(_) => "Reconciliation",
        };
        write!(f, "{kind}(<redacted>)")
    }
}

fn parse_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    serde_json::from_slice(bytes).map_err(|e| ParseError::from_serde("response body", &e))
}

/// Parses the 2xx body of `op`'s answer into its typed reply.
pub fn parse_reply(op: &Operation, bytes: &[u8]) -> Result<Reply, ParseError> {
    Ok(match op {
        Operation::IdentifyHolder { .. } => Reply::Holder(parse_as(bytes)?),
        Operation::QueryEnrollment { .. } => Reply::Enrollment(parse_as(bytes)?),
        Operation::QueryContributions { .. } => Reply::Contributions(parse_as(bytes)?),
        Operation::QueryPensionPayments { .. } => Reply::PensionPayments(parse_as(bytes)?),
        Operation::QueryMedicalAccount { .. } => Reply::MedicalAccount(parse_as(bytes)?),
        Operation::IssueProof { .. } => {
            let proof: ProofReply = parse_as(bytes)?;
            // A proof without a code cannot be checked by anyone: not a proof.
            if proof.verification_code.trim().is_empty() || proof.verify_url.trim().is_empty() {
                return Err(ParseError {
                    what: "proof",
                    detail: "no verification code or verify URL".into(),
                });
            }
            Reply::Proof(proof)
        }
        Operation::ActivateCard { .. }
        | Operation::ReportLoss { .. }
        | Operation::ReleaseLoss { .. } => Reply::Card(parse_as(bytes)?),
        Operation::SubmitCertification { .. } => Reply::Certification(parse_as(bytes)?),
        Operation::QueueCertification { .. } => Reply::Ack(parse_as(bytes)?),
        Operation::QueryCertification { .. } => Reply::CertificationStatus(parse_as(bytes)?),
        Operation::UploadCapture { .. } => Reply::Capture(parse_as(bytes)?),
        Operation::AddProxy { .. } | Operation::RemoveProxy { .. } => {
            let ids: ProxyIds = parse_as(bytes)?;
            if ids.proxy_person_ids.len() > MAX_PROXIES {
                return Err(ParseError {
                    what: "proxy list",
                    detail: format!(
                        "{} proxies, at most {MAX_PROXIES}",
                        ids.proxy_person_ids.len()
                    ),
                });
            }
            Reply::ProxyIds(ids)
        }
        Operation::ListProxies { .. } => {
            let list: ProxyList = parse_as(bytes)?;
            if list.proxies.len() > MAX_PROXIES {
                return Err(ParseError {
                    what: "proxy list",
                    detail: format!("{} proxies, at most {MAX_PROXIES}", list.proxies.len()),
                });
            }
            Reply::Proxies(list)
        }
        Operation::CardCryptogram { .. } => {
            let c: Cryptogram = parse_as(bytes)?;
            if !is_hex(&c.cryptogram, 32) {
                return Err(ParseError {
                    what: "cryptogram",
                    detail: "must be 16 bytes as 32 hex digits".into(),
                });
            }
            Reply::Cryptogram(c)
        }
        Operation::CatalogueSync { .. } => Reply::Catalogue(parse_as(bytes)?),
        Operation::Heartbeat { .. } => Reply::Ack(parse_as(bytes)?),
        Operation::Reconciliation { .. } => Reply::Reconciliation(parse_as(bytes)?),
    })
}

/// What the back end knows about an idempotency key (`GET /v1/transactions/{key}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Applied; `response` is the stored answer.
    Applied,
    /// Refused with a business error; `response` is the stored error body.
    Rejected,
    /// Never arrived and now fenced: a late copy will be refused.
    Void,
    /// Never arrived (a read-only status query does not fence).
    NotFound,
    /// Arrived and still executing: never void it, ask again later.
    InProgress,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxStatus {
    pub idempotency_key: String,
    pub state: TxState,
    pub http_status: Option<u16>,
    pub response: Option<serde_json::Value>,
}

// The stored response may hold names and ID numbers (proxy lists).
impl fmt::Debug for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxStatus")
            .field("idempotency_key", &self.idempotency_key)
            .field("state", &self.state)
            .field("http_status", &self.http_status)
            .finish_non_exhaustive()
    }
}

impl TxStatus {
    pub fn parse(bytes: &[u8]) -> Result<TxStatus, ParseError> {
        parse_as(bytes)
    }
}

/// One operation the back end applied (`GET /admin/ledger` of the demo back end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    pub seq: u64,
    pub idempotency_key: String,
    pub terminal_id: String,
    pub op: String,
    /// UTC business day the operation was applied, `YYYY-MM-DD`.
    pub applied_on: String,
}

/// The UTC calendar day (`YYYY-MM-DD`) of a Unix time in milliseconds.
pub fn utc_day(unix_ms: i64) -> String {
    // Civil-from-days (H. Hinnant), valid for the proleptic Gregorian calendar.
    let z = unix_ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Journal shipping: a batch of journal entries (`POST /v1/journal-batches`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalBatch {
    pub terminal_id: String,
    pub first_seq: i64,
    pub last_seq: i64,
    /// The chain link the batch continues from (hex): the hash of entry `first_seq - 1`, or
    /// of the anchor when older entries were pruned. With each entry's `hash` the back end
    /// holds the chain's head and can tell a gap or a rewrite.
    #[serde(default)]
    pub prev_hash: String,
    pub entries: Vec<serde_json::Value>,
}

pub const JOURNAL_BATCH_PATH: &str = "/v1/journal-batches";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_printed_with_debug_carries_no_card_number() {
        let reply = Reply::Card(CardStatusReply {
            card_number: "CQ3000051".into(),
            card_state: CardState::Active,
            verification_code: None,
            verify_url: None,
        });
        let printed = format!("{reply:?}");
        assert!(!printed.contains("CQ3000051"), "{printed}");
        if let Reply::Card(card) = &reply {
            assert!(!format!("{card:?}").contains("CQ3000051"));
        }
    }

    #[test]
    fn heartbeats_carry_device_states_and_the_mode_as_xfs4iot_words() {
        let status = DeviceStatus {
            card_reader: DeviceState::NoDevice,
            printer: DeviceState::HardwareError,
            paper: PaperState::Out,
            id_card_reader: Some(DeviceState::Starting),
            mode: TerminalMode::OutOfService,
            ..Default::default()
        };
        let wire = serde_json::to_value(&status).expect("serializes");
        assert_eq!(wire["card_reader"], "noDevice");
        assert_eq!(wire["printer"], "hardwareError");
        assert_eq!(wire["paper"], "out");
        assert_eq!(wire["id_card_reader"], "starting");
        assert_eq!(wire["mode"], "out_of_service");
        assert!(wire.get("camera").is_none(), "absent, not null");
        for state in DeviceState::ALL {
            assert_eq!(serde_json::to_value(state).expect("state"), state.as_str());
        }
        for paper in PaperState::ALL {
            assert_eq!(serde_json::to_value(paper).expect("paper"), paper.as_str());
        }
        for mode in TerminalMode::ALL {
            assert_eq!(serde_json::to_value(mode).expect("mode"), mode.as_str());
        }
        // An older kiosk's heartbeat (free words, no mode) still parses.
        let old: DeviceStatus = serde_json::from_str(
            r#"{"card_reader":"no-device","printer":"online","paper":"ok","camera":"unknown","uptime_s":3}"#,
        )
        .expect("an older heartbeat");
        assert_eq!(old.card_reader, DeviceState::NoDevice);
        assert_eq!(old.paper, PaperState::Full);
        assert_eq!(old.camera, Some(DeviceState::Starting));
        assert_eq!(old.mode, TerminalMode::InService);
        // Anything else is refused, not read as a default.
        for bad in [
            r#"{"card_reader":"fine","printer":"online","paper":"full","uptime_s":3}"#,
            r#"{"card_reader":"online","printer":"online","paper":"full","mode":"asleep","uptime_s":3}"#,
        ] {
            assert!(serde_json::from_str::<DeviceStatus>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_operation_has_a_route_and_round_trips_through_the_wire_form() {
        let ops = vec![
            Operation::IdentifyHolder {
                id_number: "x".into(),
                card_number: None,
            },
            Operation::CardCryptogram {
                card_id: "c".into(),
                challenge: "0011223344556677".into(),
            },
            Operation::Heartbeat {
                status: DeviceStatus {
                    card_reader: DeviceState::Online,
                    printer: DeviceState::HardwareError,
                    paper: PaperState::Low,
                    camera: Some(DeviceState::NoDevice),
                    mode: TerminalMode::Maintenance,
                    uptime_s: 5,
                    ..Default::default()
                },
            },
            Operation::Reconciliation {
                date: "2026-11-28".into(),
            },
            Operation::IssueProof {
                person_id: "p".into(),
                kind: "contributions".into(),
                years: vec![2025, 2026],
            },
        ];
        for op in ops {
            assert!(TABLE.iter().any(|r| r.0 == op.name()), "{}", op.name());
            let path = op.path();
            let below = path.trim_start_matches("/v1/");
            let back = Operation::from_request(below, op.body().as_bytes()).expect("parse");
            assert_eq!(back, op);
            assert_eq!(
                Operation::from_journal(&op.to_journal()).expect("journal"),
                op
            );
        }
    }

    #[test]
    fn a_proof_needs_a_known_kind_and_a_code() {
        let bad = br#"{"person_id":"p","kind":"pension","years":[]}"#;
        assert!(Operation::from_request("proofs", bad).is_err());
        let too_many = br#"{"person_id":"p","kind":"contributions","years":[1,2,3,4]}"#;
        assert!(Operation::from_request("proofs", too_many).is_err());
        let op = Operation::IssueProof {
            person_id: "p".into(),
            kind: "enrollment".into(),
            years: Vec::new(),
        };
        assert!(!op.is_mutation());
        let no_code =
            br#"{"kind":"enrollment","verification_code":"","verify_url":"u","issued_at":"t"}"#;
        assert!(parse_reply(&op, no_code).is_err());
    }

    #[test]
    fn malformed_bytes_give_a_clear_error() {
        let op = Operation::QueryEnrollment {
            person_id: "p".into(),
        };
        let err = parse_reply(&op, b"{\"person_id\": ").expect_err("truncated");
        assert!(
            err.to_string().starts_with("malformed response body"),
            "{err}"
        );
        let bad_challenge = br#"{"card_id":"c","challenge":"zz"}"#;
        assert!(Operation::from_request("hsm/card-auth", bad_challenge).is_err());
    }

    #[test]
    fn debug_output_never_shows_names_or_id_numbers() {
        let op = Operation::QueryEnrollment {
            person_id: "11010519491231002X 张伟".into(),
        };
        let holder = Holder {
            person_id: "P1".into(),
            name: "张伟".into(),
            id_number: "11010519491231002X".into(),
            card_number: "CQ1".into(),
            card_state: CardState::Active,
        };
        let list = ProxyList {
            person_id: "P1".into(),
            proxies: vec![Proxy {
                proxy_person_id: "P2".into(),
                proxy_id_number: "11010519491231002X".into(),
                proxy_name: "张伟".into(),
            }],
        };
        for text in [
            format!("{op:?}"),
            format!("{holder:?}"),
            format!("{list:?}"),
        ] {
            assert!(
                !text.contains("1101051949") && !text.contains("张伟"),
                "{text}"
            );
        }
    }

    #[test]
    fn utc_days_match_known_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_795_910_399_999), "2026-11-28");
        assert_eq!(utc_day(-1), "1969-12-31");
    }

    #[test]
    fn unknown_error_codes_are_kept_as_unrecognized() {
        let e = ApiError::parse(br#"{"error":{"code":"NEW_THING","message":{"zh":"a","en":"b"}}}"#)
            .expect("parse");
        assert_eq!(e.code, ErrorCode::Unrecognized);
    }
}
