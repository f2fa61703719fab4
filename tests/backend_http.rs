//! The HTTP client's limits against real sockets on loopback: no redirects followed,
//! answers capped, the terminal's private key refused when others can read it, and the
//! client certificate's expiry read for heartbeats.

use std::time::Duration;

use renshe_kiosk::backend::config::BackendConfig;
use renshe_kiosk::backend::http::{
    client_certificate_expiry, HttpClient, HttpError, Method, WireRequest,
};
use renshe_kiosk::backend::sim::TestPki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server that answers every connection with `response`, verbatim.
async fn canned(response: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

fn client() -> HttpClient {
    let config = BackendConfig::uniform(&["http://127.0.0.1:1".to_string()], 2_000, true);
    HttpClient::new(&config, "CQ-TEST-0001").expect("client")
}

fn request<'a>(base_url: &'a str, path: &'a str) -> WireRequest<'a> {
    WireRequest {
        method: Method::Post,
        base_url,
        path,
        body: Some("{}"),
        idempotency_key: "k-1",
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let elsewhere = canned(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec()).await;
    let redirect = canned(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere}/v1/enrollment\r\ncontent-length: 0\r\n\r\n"
        )
        .into_bytes(),
    )
    .await;
    let answer = client()
        .send(&request(&redirect, "/v1/enrollment"))
        .await
        .expect("an answer");
    assert_eq!(answer.status, 307, "the redirect itself comes back");
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_declared_or_not() {
    let big = 1 << 20;
    let declared =
        canned(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", big + 1).into_bytes())
            .await;
    let error = client()
        .send(&request(&declared, "/v1/enrollment"))
        .await
        .expect_err("too large");
    assert!(matches!(error, HttpError::TooLarge { .. }), "{error}");
    assert!(error.maybe_delivered());

    // No length given: the body is counted as it comes.
    let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    let piece = vec![b'x'; 64 * 1024];
    for _ in 0..(big / piece.len() + 2) {
        chunked.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend(&piece);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let undeclared = canned(chunked.clone()).await;
    let error = client()
        .send(&request(&undeclared, "/v1/enrollment"))
        .await
        .expect_err("too large");
    assert!(matches!(error, HttpError::TooLarge { .. }), "{error}");
    // The catalogue's pages may be larger.
    let answer = client()
        .send(&request(&undeclared, "/v1/catalogue/sync"))
        .await
        .expect("a catalogue page");
    assert!(answer.body.len() > big);
}

#[test]
fn a_private_key_others_can_read_is_refused_and_the_certificate_expiry_is_read() {
    use std::os::unix::fs::PermissionsExt;
    let pki = TestPki::generate("CQ-TEST-0001").expect("pki");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_client_files(dir.path()).expect("files");
    let mut config = BackendConfig::uniform(&["https://127.0.0.1:1".to_string()], 2_000, false);
    config.tls = Some(files.clone());
    HttpClient::new(&config, "CQ-TEST-0001").expect("a private key is accepted");
    std::fs::set_permissions(
        &files.client_key_file,
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    let error = match HttpClient::new(&config, "CQ-TEST-0001") {
        Err(error) => error.to_string(),
        Ok(_) => panic!("a group-readable key was accepted"),
    };
    assert!(
        error.contains("terminal.key") && error.contains("chmod 600"),
        "{error}"
    );
    let expiry = client_certificate_expiry(&files).expect("expiry");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(expiry > now, "the test certificate is valid now");
}
