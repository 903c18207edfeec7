//! HTTPS without the network: the client's TLS is rustls with the ring provider (see the
//! README's Install section), and nothing here can present a certificate the client would
//! trust. So the test listens on 127.0.0.1 itself, reads what the client sends first and
//! hangs up. The first bytes must be a TLS ClientHello offering HTTP/2 and HTTP/1.1, and the
//! fetch must end as a network failure (exit 3): not a panic for want of a crypto provider,
//! not a client that could not be set up.

use std::sync::{Arc, Mutex};

use ecmguard::source::live::{Credentials, LiveConfig, RetryBudget, fetch_all};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use super::errors::render;

/// Reads one TLS record (5-byte header, then its body) from each connection, then closes it.
async fn record_first_tls_records(listener: TcpListener, seen: Arc<Mutex<Vec<Vec<u8>>>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let mut header = [0u8; 5];
        if socket.read_exact(&mut header).await.is_err() {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut record = header.to_vec();
        record.resize(5 + len, 0);
        if socket.read_exact(&mut record[5..]).await.is_ok() {
            seen.lock().unwrap().push(record);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn an_https_endpoint_gets_a_tls_client_hello() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(record_first_tls_records(listener, seen.clone()));

    let mut cfg = LiveConfig::new(Credentials::new("AKIDtls", "tls-test-key", None));
    cfg.endpoint = format!("https://127.0.0.1:{port}");
    cfg.retry = RetryBudget {
        max_attempts: 2,
        max_elapsed: std::time::Duration::from_secs(5),
        min_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(10),
    };
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    server.abort();

    assert_eq!(
        ecmguard::exit::ExitCode::of_fetch_error(&err).code(),
        3,
        "{}",
        render(&err)
    );
    let shown = render(&err);
    assert!(!shown.contains("client_setup"), "{shown}");

    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "no TLS record arrived: {shown}");
    for record in seen.iter() {
        assert_eq!(record[0], 0x16, "a TLS handshake record: {record:02x?}");
        assert_eq!(record[1], 0x03, "TLS record version 3.x: {record:02x?}");
        assert_eq!(record[5], 0x01, "a ClientHello: {record:02x?}");
        // ALPN: HTTP/2 (reqwest's `http2` feature) and HTTP/1.1.
        assert!(contains(record, b"\x02h2"), "ALPN h2: {record:02x?}");
        assert!(
            contains(record, b"\x08http/1.1"),
            "ALPN http/1.1: {record:02x?}"
        );
    }
}

/// A certificate the client does not trust fails the same way every time:
/// one connection, no retries, a help that says so (six attempts used to
/// take 25 s).
#[tokio::test]
async fn an_untrusted_certificate_is_not_retried() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let cert = CertificateDer::from_pem_file(format!("{fixtures}/cert.pem")).expect("cert");
    let key = PrivateKeyDer::from_pem_file(format!("{fixtures}/key.pem")).expect("key");
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(Mutex::new(0u32));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            *counted.lock().unwrap() += 1;
            let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            // Handshake until the client gives up on the certificate.
            let _ = conn.complete_io(&mut stream);
        }
    });
    let mut cfg = LiveConfig::new(Credentials::new("AKIDtls", "tls-test-key", None));
    cfg.endpoint = format!("https://127.0.0.1:{port}");
    cfg.retry = RetryBudget {
        max_attempts: 6,
        max_elapsed: std::time::Duration::from_secs(20),
        min_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_millis(400),
    };
    let Err(err) = fetch_all(&cfg, &|_| {}).await else {
        panic!("an untrusted certificate");
    };
    let shown = render(&err);
    assert!(
        matches!(
            err,
            ecmguard::source::live::FetchError::Transport {
                permanent: true,
                ..
            }
        ),
        "{shown}"
    );
    assert!(shown.contains("not retried"), "{shown}");
    // One connection: not retried (no wall-clock limit, which a loaded
    // machine can exceed; the count is the proof).
    assert_eq!(*connections.lock().unwrap(), 1, "{shown}");
}
