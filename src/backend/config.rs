//! `[backend]` table of the kiosk configuration: routes, TLS files, breaker and outbox policy.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::api::Service;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Plain `http://` endpoints are accepted only when this is set, and only on loopback
    /// (demo mode and tests).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// CA and client certificate for mTLS; required as soon as an endpoint is `https://`.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Service → ordered endpoints (the first is preferred; the rest are failovers).
    pub routes: BTreeMap<Service, Route>,
    #[serde(default)]
    pub breaker: BreakerPolicy,
    #[serde(default)]
    pub outbox: OutboxPolicy,
    /// How long the back end keeps a key's outcome (the contract's retention). A key older
    /// than this is never voided on `not_found`, only quarantined.
    #[serde(default = "default_key_retention_hours")]
    pub key_retention_hours: u64,
}

fn default_key_retention_hours() -> u64 {
    168
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca_file: PathBuf,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Base URLs, e.g. `https://card-a.rs.cq:8443`.
    pub endpoints: Vec<String>,
    /// Whole-request timeout; past it the outcome is "unknown".
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per endpoint before failing over to the next one.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Pause between attempts on the same endpoint.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}
fn default_attempts() -> u32 {
    2
}
fn default_backoff_ms() -> u64 {
    100
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerPolicy {
    /// Consecutive failures that open an endpoint's breaker.
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before letting one trial through.
    pub open_ms: u64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            open_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxPolicy {
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Messages relayed per pass.
    pub batch: u32,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            base_backoff_ms: 500,
            max_backoff_ms: 60_000,
            batch: 50,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("backend.routes has no route for service `{0}`")]
    MissingRoute(&'static str),
    #[error("backend.routes.{0}.endpoints is empty")]
    NoEndpoints(&'static str),
    #[error("backend.routes.{service}: `{endpoint}` is not a valid http(s) URL")]
    BadUrl {
        service: &'static str,
        endpoint: String,
    },
    #[error("backend.routes.{service}: `{endpoint}` is plain HTTP; allowed only with allow_plain_http = true and a loopback host")]
    PlainHttpRefused {
        service: &'static str,
        endpoint: String,
    },
    #[error("backend.routes.{service}: `{endpoint}` is HTTPS but backend.tls is missing")]
    TlsMissing {
        service: &'static str,
        endpoint: String,
    },
    #[error("backend.routes.{0}: attempts must be at least 1")]
    NoAttempts(&'static str),
    #[error("cannot parse the backend configuration: {0}")]
    Toml(String),
}

impl BackendConfig {
    /// Every service on the same endpoints (demo mode, tests).
    pub fn uniform(endpoints: &[String], timeout_ms: u64, allow_plain_http: bool) -> BackendConfig {
        let routes = Service::ALL
            .into_iter()
            .map(|s| {
                (
                    s,
                    Route {
                        endpoints: endpoints.to_vec(),
                        timeout_ms,
                        attempts: default_attempts(),
                        backoff_ms: 20,
                    },
                )
            })
            .collect();
        BackendConfig {
            allow_plain_http,
            tls: None,
            routes,
            breaker: BreakerPolicy::default(),
            outbox: OutboxPolicy::default(),
            key_retention_hours: default_key_retention_hours(),
        }
    }

    /// [`BackendConfig::key_retention_hours`] in milliseconds.
    pub fn key_retention_ms(&self) -> u64 {
        self.key_retention_hours.saturating_mul(3_600_000)
    }

    pub fn from_toml(text: &str) -> Result<BackendConfig, ConfigError> {
        let config: BackendConfig =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn route(&self, service: Service) -> Option<&Route> {
        self.routes.get(&service)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for service in Service::ALL {
            let name = service.as_str();
            let route = self
                .routes
                .get(&service)
                .ok_or(ConfigError::MissingRoute(name))?;
            if route.endpoints.is_empty() {
                return Err(ConfigError::NoEndpoints(name));
            }
            if route.attempts == 0 {
                return Err(ConfigError::NoAttempts(name));
            }
            for endpoint in &route.endpoints {
                let url = reqwest::Url::parse(endpoint).map_err(|_| ConfigError::BadUrl {
                    service: name,
                    endpoint: endpoint.clone(),
                })?;
                match url.scheme() {
                    "https" if self.tls.is_none() => {
                        return Err(ConfigError::TlsMissing {
                            service: name,
                            endpoint: endpoint.clone(),
                        })
                    }
                    "https" => {}
                    "http" => {
                        let loopback = match url.host() {
                            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                            Some(url::Host::Domain(d)) => d == "localhost",
                            None => false,
                        };
                        if !(self.allow_plain_http && loopback) {
                            return Err(ConfigError::PlainHttpRefused {
                                service: name,
                                endpoint: endpoint.clone(),
                            });
                        }
                    }
                    _ => {
                        return Err(ConfigError::BadUrl {
                            service: name,
                            endpoint: endpoint.clone(),
                        })
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_needs_the_switch_and_loopback() {
        let mut c = BackendConfig::uniform(&["http://127.0.0.1:9".into()], 100, false);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::PlainHttpRefused { .. })
        ));
        c.allow_plain_http = true;
        assert_eq!(c.validate(), Ok(()));
        let remote = BackendConfig::uniform(&["http://10.0.0.1:9".into()], 100, true);
        assert!(matches!(
            remote.validate(),
            Err(ConfigError::PlainHttpRefused { .. })
        ));
        let tls = BackendConfig::uniform(&["https://rs.example:443".into()], 100, false);
        assert!(matches!(
            tls.validate(),
            Err(ConfigError::TlsMissing { .. })
        ));
    }

    #[test]
    fn toml_with_an_unknown_key_is_refused() {
        let text = r#"
            allow_plain_http = true
            typo = 1
            [routes.card]
            endpoints = ["http://127.0.0.1:1"]
        "#;
        assert!(matches!(
            BackendConfig::from_toml(text),
            Err(ConfigError::Toml(_))
        ));
    }
}
