//! The back end: every route's endpoints asked once, fresh (reachability and latency), the
//! breakers when the caller has an engine, and the client certificate's expiry.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use crate::backend::api::Service;
use crate::backend::config::{BackendConfig, TlsFiles};
use crate::backend::engine::Availability;
use crate::backend::http::{HttpClient, HttpError, Method, WireRequest};
use crate::selftest::{Check, Part, Status};

/// A certificate expiring sooner than this is a warning.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// What one endpoint said to the probe.
#[derive(Debug)]
enum Probe {
    /// Any HTTP answer: the endpoint is there. Its status and how long it took.
    Answered {
        status: u16,
        elapsed: Duration,
    },
    Failed(HttpError),
}

/// Asks every endpoint of every route once, all at the same time: `GET /v1/transactions/<a
/// fresh key>` (the status query of the contract, which changes nothing; `not_found` is the
/// expected answer). With `breakers` (the running kiosk's `Engine::availability()`), a route
/// whose breakers are all open is at least a warning even if the probe got through.
pub async fn probe_routes(
    config: &BackendConfig,
    terminal_id: &str,
    breakers: Option<&BTreeMap<Service, Availability>>,
) -> Vec<Check> {
    let client = match HttpClient::new(config, terminal_id) {
        Ok(client) => client,
        Err(error) => {
            return vec![Check::failure(
                Part::BackendRoute,
                "all",
                format!("the HTTP client cannot be built ({error})"),
                "check the files of backend.tls (CA, client certificate and key, mode 0600)",
            )]
        }
    };
    let mut probes = Vec::new();
    for (service, route) in &config.routes {
        for endpoint in &route.endpoints {
            let client = client.clone();
            let endpoint = endpoint.clone();
            let timeout = Duration::from_millis(route.timeout_ms);
            probes.push((
                *service,
                endpoint.clone(),
                tokio::spawn(async move { probe(&client, &endpoint, timeout).await }),
            ));
        }
    }
    let mut answers: BTreeMap<Service, Vec<(String, Probe)>> = BTreeMap::new();
    for (service, endpoint, task) in probes {
        let probe = match task.await {
            Ok(probe) => probe,
            Err(error) => Probe::Failed(HttpError::Interrupted {
                url: endpoint.clone(),
                detail: error.to_string(),
            }),
        };
        answers.entry(service).or_default().push((endpoint, probe));
    }
    answers
        .into_iter()
        .map(|(service, endpoints)| {
            let check = route_check(service.as_str(), terminal_id, &endpoints);
            match breakers.and_then(|b| b.get(&service)) {
                Some(availability) => with_breaker(check, *availability),
                None => check,
            }
        })
        .collect()
}

async fn probe(client: &HttpClient, endpoint: &str, timeout: Duration) -> Probe {
    let key = format!("diag-probe-{}", uuid::Uuid::new_v4().simple());
    let path = format!("/v1/transactions/{key}");
    let started = Instant::now();
    let request = WireRequest {
        method: Method::Get,
        base_url: endpoint,
        path: &path,
        body: None,
        idempotency_key: &key,
        timeout,
    };
    match client.send(&request).await {
        Ok(response) => Probe::Answered {
            status: response.status,
            elapsed: started.elapsed(),
        },
        Err(error) => Probe::Failed(error),
    }
}

/// The route's check from its endpoints' answers, first (preferred) endpoint first.
fn route_check(service: &str, terminal_id: &str, endpoints: &[(String, Probe)]) -> Check {
    let reachable = endpoints.iter().find_map(|(endpoint, probe)| match probe {
        Probe::Answered { status, elapsed } if *status < 500 && !refused(*status) => {
            Some((endpoint, *elapsed))
        }
        _ => None,
    });
    let problems: Vec<(&String, &Probe)> = endpoints
        .iter()
        .filter(|(_, probe)| !matches!(probe, Probe::Answered { status, .. } if *status < 500 && !refused(*status)))
        .map(|(endpoint, probe)| (endpoint, probe))
        .collect();
    match (reachable, problems.first()) {
        (Some((endpoint, elapsed)), None) => Check::ok(
            Part::BackendRoute,
            service,
            format!("reachable at {endpoint} ({} ms)", elapsed.as_millis()),
        )
        .with("latency_ms", elapsed.as_millis() as i64),
        (Some((endpoint, elapsed)), Some((down, probe))) => {
            let (why, fix) = words(probe, terminal_id);
            Check::warning(
                Part::BackendRoute,
                service,
                format!(
                    "{down}: {why}; served by the failover {endpoint} ({} ms)",
                    elapsed.as_millis()
                ),
                fix,
            )
            .with("latency_ms", elapsed.as_millis() as i64)
        }
        (None, Some((_, probe))) => {
            let (why, fix) = words(probe, terminal_id);
            let status = match probe {
                // Something answers: the route is there, the service behind it is not well.
                Probe::Answered { status, .. } if *status >= 500 => Status::Warning,
                _ => Status::Failure,
            };
            Check {
                status,
                ..Check::failure(Part::BackendRoute, service, why, fix)
            }
        }
        (None, None) => Check::failure(
            Part::BackendRoute,
            service,
            "no endpoints configured",
            format!("set backend.routes.{service}.endpoints"),
        ),
    }
}

fn refused(status: u16) -> bool {
    matches!(status, 401 | 403 | 495 | 496)
}

/// What went wrong with one endpoint, and what to do about it.
fn words(probe: &Probe, terminal_id: &str) -> (String, String) {
    const NETWORK: &str = "check the network / VPN";
    match probe {
        Probe::Answered { status, .. } if refused(*status) => (
            format!("refuses this terminal (HTTP {status})"),
            format!(
                "check the terminal's client certificate and that terminal.id \"{terminal_id}\" is registered at the back end"
            ),
        ),
        Probe::Answered { status, .. } => (
            format!("answers HTTP {status}: the service behind it is failing"),
            "tell the operations centre; the kiosk retries on its own".to_owned(),
        ),
        Probe::Failed(HttpError::Connect { detail, .. }) => {
            let lower = detail.to_lowercase();
            if lower.contains("connection refused") {
                ("unreachable (connection refused)".into(), NETWORK.into())
            } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve")
            {
                (
                    "unreachable (the host name does not resolve)".into(),
                    "check DNS and the route's host name".into(),
                )
            } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                (
                    "the TLS handshake fails".into(),
                    "check backend.tls.ca_file and the terminal's certificate (expired? another CA?)"
                        .into(),
                )
            } else if lower.contains("timed out") {
                ("unreachable (connecting timed out)".into(), NETWORK.into())
            } else {
                (format!("unreachable ({})", last_cause(detail)), NETWORK.into())
            }
        }
        Probe::Failed(HttpError::Timeout { timeout_ms, .. }) => (
            format!("no answer within {timeout_ms} ms"),
            "check the network / VPN; the back end may be overloaded".into(),
        ),
        Probe::Failed(HttpError::Interrupted { detail, .. }) => (
            format!("the exchange broke off ({})", last_cause(detail)),
            "check the network / VPN and any proxy in between".into(),
        ),
        Probe::Failed(error) => (error.to_string(), NETWORK.into()),
    }
}

/// The innermost cause of an error chain joined by ": " (what the OS said).
fn last_cause(detail: &str) -> &str {
    detail.rsplit(": ").next().unwrap_or(detail).trim()
}

/// The running kiosk's breaker on the route: open means it is not used now.
fn with_breaker(mut check: Check, availability: Availability) -> Check {
    match availability {
        Availability::Available => {
            check.detail.push_str("; breaker closed");
            check
        }
        Availability::Unavailable { retry_in_ms } => {
            check.detail.push_str(&format!(
                "; breaker open (the next trial in {} s)",
                retry_in_ms.div_ceil(1000)
            ));
            if check.status == Status::Ok {
                check.status = Status::Warning;
                check.fix =
                    Some("the route failed recently; the kiosk tries again on its own".to_owned());
            }
            check
        }
    }
}

/// The terminal's client certificate: days left (a warning under
/// [`CERTIFICATE_WARNING_DAYS`], a failure once expired). `None` without TLS.
pub fn certificate(tls: Option<&TlsFiles>, now: SystemTime) -> Option<Check> {
    let tls = tls?;
    let target = tls.client_cert_file.display().to_string();
    let expiry = match crate::backend::http::client_certificate_expiry(tls) {
        Ok(expiry) => expiry,
        Err(error) => {
            return Some(Check::failure(
                Part::Certificate,
                target,
                error.to_string(),
                "install the terminal's certificate (backend.tls.client_cert_file)",
            ))
        }
    };
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = (expiry - now).div_euclid(86_400);
    let date = chrono::DateTime::from_timestamp(expiry, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let check = if expiry <= now {
        Check::failure(
            Part::Certificate,
            target,
            format!("expired on {date}: the back end refuses the terminal"),
            "renew the terminal's certificate now",
        )
    } else if days < CERTIFICATE_WARNING_DAYS {
        Check::warning(
            Part::Certificate,
            target,
            format!("expires in {days} days ({date})"),
            "renew the terminal's certificate before it expires",
        )
    } else {
        Check::ok(
            Part::Certificate,
            target,
            format!("valid for {days} more days ({date})"),
        )
    };
    Some(check.with("days_left", days))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Probe {
        Probe::Answered {
            status,
            elapsed: Duration::from_millis(12),
        }
    }

    fn refused_connection() -> Probe {
        Probe::Failed(HttpError::Connect {
            url: "http://127.0.0.1:9/v1/transactions/x".into(),
            detail: "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
        })
    }

    #[test]
    fn routes_are_ok_warned_or_failed_by_their_endpoints() {
        let ok = route_check("insurance", "T", &[("http://a".into(), answered(404))]);
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.figures["latency_ms"], 12);
        let down = route_check("pension", "T", &[("http://a".into(), refused_connection())]);
        assert_eq!(
            down.to_string(),
            "route \"pension\": unreachable (connection refused) — check the network / VPN"
        );
        let failover = route_check(
            "card",
            "T",
            &[
                ("http://a".into(), refused_connection()),
                ("http://b".into(), answered(404)),
            ],
        );
        assert_eq!(failover.status, Status::Warning);
        assert!(
            failover.detail.contains("served by the failover http://b"),
            "{failover}"
        );
        let sick = route_check("card", "T", &[("http://a".into(), answered(503))]);
        assert_eq!(sick.status, Status::Warning);
        let refused = route_check("card", "T-9", &[("http://a".into(), answered(403))]);
        assert_eq!(refused.status, Status::Failure);
        assert!(refused.fix.as_deref().is_some_and(|f| f.contains("T-9")));
    }

    #[test]
    fn an_open_breaker_makes_a_reachable_route_a_warning() {
        let ok = route_check("insurance", "T", &[("http://a".into(), answered(404))]);
        let open = with_breaker(ok, Availability::Unavailable { retry_in_ms: 2500 });
        assert_eq!(open.status, Status::Warning);
        assert!(
            open.detail
                .ends_with("breaker open (the next trial in 3 s)"),
            "{open}"
        );
    }
}
