//! The only place that makes HTTP calls: reqwest over rustls, with the configured CA and
//! client certificate (mTLS), plain HTTP only when the config allows it.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::api::{IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER, TERMINAL_ID_HEADER};
use super::config::{BackendConfig, TlsFiles};

/// Why a request got no usable HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot read TLS file {file}: {detail}")]
    TlsFile { file: String, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    /// The connection was never established: the request certainly did not arrive.
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("no answer from {url} within {timeout_ms} ms")]
    Timeout { url: String, timeout_ms: u64 },
    /// The request may have arrived, but the answer was cut off or never came.
    #[error("exchange with {url} was interrupted: {detail}")]
    Interrupted { url: String, detail: String },
    /// The answer was larger than any answer of the contract: not read further.
    #[error("the answer from {url} exceeds {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

/// The largest answer read for a path: 1 MiB, the catalogue's pages more.
pub fn answer_limit(path: &str) -> usize {
    if path.starts_with("/v1/catalogue") {
        64 << 20
    } else {
        1 << 20
    }
}

impl HttpError {
    /// Whether the back end may have received (and applied) the request.
    pub fn maybe_delivered(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. } | HttpError::Interrupted { .. } | HttpError::TooLarge { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request to one endpoint.
pub struct WireRequest<'a> {
    pub method: Method,
    pub base_url: &'a str,
    pub path: &'a str,
    pub body: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub timeout: Duration,
}

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub struct WireResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The back end replayed a stored answer for this idempotency key.
    pub replayed: bool,
}

/// The back-end HTTP client of one terminal.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    terminal_id: String,
}

fn read_pem_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let err = |detail: String| HttpError::TlsFile {
        file: path.display().to_string(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    Ok(certs)
}

/// rustls client configuration: trust only the configured CA; present the terminal's
/// certificate when the config names one.
pub fn rustls_client_config(tls: Option<&TlsFiles>) -> Result<rustls::ClientConfig, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Build(e.to_string()))?;
    let Some(tls) = tls else {
        return Ok(builder.with_root_certificates(roots).with_no_client_auth());
    };
    for cert in read_pem_certs(&tls.ca_file)? {
        roots.add(cert).map_err(|e| HttpError::TlsFile {
            file: tls.ca_file.display().to_string(),
            detail: e.to_string(),
        })?;
    }
    let chain = read_pem_certs(&tls.client_cert_file)?;
    refuse_exposed_key(&tls.client_key_file)?;
    let key =
        PrivateKeyDer::from_pem_file(&tls.client_key_file).map_err(|e| HttpError::TlsFile {
            file: tls.client_key_file.display().to_string(),
            detail: e.to_string(),
        })?;
    builder
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| HttpError::Build(e.to_string()))
}

/// The terminal's private key must be the kiosk user's alone, like the records key.
fn refuse_exposed_key(path: &std::path::Path) -> Result<(), HttpError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|e| HttpError::TlsFile {
        file: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(HttpError::TlsFile {
            file: path.display().to_string(),
            detail: format!(
                "the private key can be read by other users (mode {mode:o}): `chmod 600 {}`, owned by the kiosk's user",
                path.display()
            ),
        });
    }
    Ok(())
}

/// When the terminal's client certificate expires, as Unix seconds (heartbeats report the
/// days left, so the fleet renews it before the back end refuses the terminal).
pub fn client_certificate_expiry(tls: &TlsFiles) -> Result<i64, HttpError> {
    let chain = read_pem_certs(&tls.client_cert_file)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(chain[0].as_ref()).map_err(|e| HttpError::TlsFile {
            file: tls.client_cert_file.display().to_string(),
            detail: format!("not an X.509 certificate: {e}"),
        })?;
    Ok(cert.validity().not_after.timestamp())
}

impl HttpClient {
    pub fn new(config: &BackendConfig, terminal_id: &str) -> Result<HttpClient, HttpError> {
        let tls = rustls_client_config(config.tls.as_ref())?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(!config.allow_plain_http)
            .no_proxy()
            // A redirect would send the resident's data somewhere the route does not name.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| HttpError::Build(e.to_string()))?;
        Ok(HttpClient {
            client,
            terminal_id: terminal_id.to_string(),
        })
    }

    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    /// Sends one request and reads the whole answer within `request.timeout`.
    pub async fn send(&self, request: &WireRequest<'_>) -> Result<WireResponse, HttpError> {
        let url = format!("{}{}", request.base_url.trim_end_matches('/'), request.path);
        let builder = match request.method {
            Method::Get => self.client.get(&url),
            Method::Post => self.client.post(&url),
        };
        let mut builder = builder
            .header(TERMINAL_ID_HEADER, &self.terminal_id)
            .header(IDEMPOTENCY_KEY_HEADER, request.idempotency_key)
            .timeout(request.timeout);
        if let Some(body) = request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout {
                    url: url.clone(),
                    timeout_ms: request.timeout.as_millis() as u64,
                }
            } else if e.is_connect() {
                HttpError::Connect {
                    url: url.clone(),
                    detail: error_chain(&e),
                }
            } else {
                HttpError::Interrupted {
                    url: url.clone(),
                    detail: error_chain(&e),
                }
            }
        };
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get(REPLAYED_HEADER)
            .is_some_and(|v| v.as_bytes() == b"true");
        let limit = answer_limit(request.path);
        let too_large = || HttpError::TooLarge {
            url: url.clone(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(WireResponse {
            status,
            body,
            replayed,
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
