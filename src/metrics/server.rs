//! The metrics and health endpoint: `GET /metrics` (OpenMetrics text) and `GET /health`
//! (JSON; 200 while residents are served, 503 otherwise), on a loopback address only.
//!
//! A few dozen lines of HTTP/1.1 on a tokio `TcpListener` rather than hyper: the terminal's
//! build has no HTTP server otherwise (hyper and axum come with the demo back end only), and
//! this one answers two GETs from the monitoring agent on the same machine — no bodies, no
//! keep-alive, no TLS — so a head read with a size and time limit is all it needs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Metrics;
use crate::logging::event;

/// The longest request head read; anything longer is refused.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its head and read the answer.
const CLIENT_TIME: Duration = Duration::from_secs(5);
/// Connections answered at once; more wait for a place.
const AT_ONCE: usize = 4;

pub const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{address} is not a loopback address; the metrics endpoint serves this machine only")]
    NotLoopback { address: SocketAddr },
    #[error("cannot listen on {address}: {source} (is another kiosk or exporter using the port? set [metrics] listen)")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The endpoint, serving until dropped.
pub struct Server {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Where it listens (with port 0 asked, the port it got).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `address` (which must be loopback) and serves `metrics` on `runtime`. The bind
/// happens now, so a port in use is reported here.
pub fn start(
    address: SocketAddr,
    metrics: Metrics,
    runtime: &tokio::runtime::Handle,
) -> Result<Server, ServerError> {
    if !address.ip().is_loopback() {
        return Err(ServerError::NotLoopback { address });
    }
    let bind = |source| ServerError::Bind { address, source };
    let listener = std::net::TcpListener::bind(address).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener).map_err(bind)?
    };
    tracing::info!(event = event::METRICS_LISTENING, address = %bound, "metrics endpoint listening");
    let places = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let task = runtime.spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(event = event::METRICS_FAILED, %error, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Ok(place) = places.clone().acquire_owned().await else {
                return;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _place = place;
                if let Err(error) = tokio::time::timeout(CLIENT_TIME, serve(stream, &metrics)).await
                {
                    tracing::debug!(%error, "metrics client too slow");
                }
            });
        }
    });
    Ok(Server {
        address: bound,
        task,
    })
}

async fn serve(mut stream: tokio::net::TcpStream, metrics: &Metrics) {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let mut refused = false;
    let answer = loop {
        let end = find(&head, b"\r\n\r\n");
        if let Some(end) = end.filter(|end| *end <= MAX_HEAD) {
            head.truncate(end);
            break answer(&head, metrics);
        }
        if end.is_some() || head.len() > MAX_HEAD {
            refused = true;
            break Answer::plain(
                431,
                "Request Header Fields Too Large",
                "request head too long\n",
            );
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    };
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        answer.status,
        answer.reason,
        answer.content_type,
        answer.body.len()
    );
    if answer.status == 405 {
        bytes.push_str("Allow: GET, HEAD\r\n");
    }
    bytes.push_str("\r\n");
    let mut bytes = bytes.into_bytes();
    if !answer.head_only {
        bytes.extend_from_slice(answer.body.as_bytes());
    }
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
    if refused {
        // Closing with the client's bytes unread would reset the connection and lose the
        // answer: read a little more first.
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            let mut drained = 0;
            while drained < 64 * 1024 {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// What one request gets.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub reason: &'static str,
    pub content_type: &'static str,
    pub body: String,
    /// `HEAD`: the headers only.
    pub head_only: bool,
}

impl Answer {
    fn plain(status: u16, reason: &'static str, body: &str) -> Answer {
        Answer {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            head_only: false,
        }
    }
}

/// The answer to a request head (request line and headers, without the blank line).
pub fn answer(head: &[u8], metrics: &Metrics) -> Answer {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Answer::plain(400, "Bad Request", "expected METHOD /path HTTP/1.1\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Answer::plain(400, "Bad Request", "expected HTTP/1.0 or HTTP/1.1\n");
    }
    let path = target.split('?').next().unwrap_or_default();
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Answer::plain(405, "Method Not Allowed", "only GET and HEAD\n"),
    };
    let mut answer = match path {
        "/metrics" => Answer {
            status: 200,
            reason: "OK",
            content_type: OPENMETRICS_TYPE,
            body: metrics.render(),
            head_only: false,
        },
        "/health" => {
            let health = metrics.health();
            let (status, reason) = if health.serving {
                (200, "OK")
            } else {
                (503, "Service Unavailable")
            };
            Answer {
                status,
                reason,
                content_type: "application/json",
                body: serde_json::to_string(&health).unwrap_or_default() + "\n",
                head_only: false,
            }
        }
        _ => Answer::plain(404, "Not Found", "try /metrics or /health\n"),
    };
    answer.head_only = head_only;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(address: SocketAddr, request: &str) -> String {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.write_all(request.as_bytes()).expect("send");
        // A refused long head may be cut short by a reset: what arrived is the answer.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            answer.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[test]
    fn serves_metrics_and_health_on_loopback_and_refuses_the_rest() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let metrics = Metrics::new();
        let server = start(
            "127.0.0.1:0".parse().expect("address"),
            metrics.clone(),
            runtime.handle(),
        )
        .expect("listens");
        let address = server.address();

        let scraped = get(address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(scraped.starts_with("HTTP/1.1 200 OK\r\n"), "{scraped}");
        assert!(scraped.contains(OPENMETRICS_TYPE));
        assert!(scraped.ends_with("# EOF\n"));

        let health = get(address, "GET /health HTTP/1.0\r\n\r\n");
        assert!(
            health.starts_with("HTTP/1.1 503 "),
            "not ready yet: {health}"
        );
        metrics.set_ready(true);
        let health = get(address, "GET /health?probe=1 HTTP/1.1\r\n\r\n");
        assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
        let body: serde_json::Value =
            serde_json::from_str(health.split("\r\n\r\n").nth(1).expect("a body")).expect("JSON");
        assert_eq!(body["version"], crate::VERSION);
        assert_eq!(body["mode"], "in_service");
        assert_eq!(body["devices"]["card_reader"], "starting");

        let head = get(address, "HEAD /health HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n"), "headers only: {head}");
        assert!(get(address, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(address, "GET /admin HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(address, "nonsense\r\n\r\n").starts_with("HTTP/1.1 400"));
        let long = format!(
            "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD)
        );
        assert!(get(address, &long).starts_with("HTTP/1.1 431"));

        assert!(matches!(
            start(address, metrics.clone(), runtime.handle()),
            Err(ServerError::Bind { .. })
        ));
        assert!(matches!(
            start(
                "0.0.0.0:0".parse().expect("address"),
                metrics,
                runtime.handle()
            ),
            Err(ServerError::NotLoopback { .. })
        ));
        drop(server);
    }
}
