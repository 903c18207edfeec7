//! The secret key and the token never appear in any error (Display, Debug, miette
//! rendering), in the configuration's Debug, or in any progress event — even when the server
//! echoes them back in its messages.

use std::time::Duration;

use ecm_emulator::{Config, Emulator, Fault, FaultRule, FaultScript, Key};
use ecmguard::source::live::{Credentials, FetchError, LiveConfig, fetch_all};

use super::errors::render;
use super::support::{Recorder, fast_config};

const ID: &str = "AKIDleakcheck";
const KEY: &str = "LeakCheckSecretKey0123456789xyz";
const TOKEN: &str = "LeakCheckSessionToken-abcdefghijkl";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(KEY), "{what} leaks the secret key:\n{text}");
    assert!(!text.contains(TOKEN), "{what} leaks the token:\n{text}");
    // Not even in part: a secret cut by truncation still leaks its start.
    assert!(
        !text.contains(&KEY[..12]),
        "{what} leaks part of the secret key:\n{text}"
    );
    assert!(
        !text.contains(&TOKEN[..12]),
        "{what} leaks part of the token:\n{text}"
    );
}

async fn run(
    faults: Vec<FaultRule>,
    key_known: bool,
    tweak: impl Fn(&mut LiveConfig),
) -> Option<FetchError> {
    let mut config = Config::new(ecm_emulator::generate_images(250));
    config.rate_limit = None;
    config.keys = if key_known {
        vec![Key::new(ID, KEY).with_token(TOKEN)]
    } else {
        vec![Key::new(ID, "another-key")]
    };
    config.faults = FaultScript::new(faults);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.credentials = Credentials::new(ID, KEY, Some(TOKEN.to_owned()));
    cfg.timeout = Duration::from_millis(300);
    tweak(&mut cfg);
    assert_clean("LiveConfig Debug", &format!("{cfg:?}"));
    let rec = Recorder::default();
    let result = fetch_all(&cfg, &rec.callback()).await;
    for event in rec.events() {
        assert_clean("progress event", &format!("{event:?}"));
    }
    // The token really was sent (so the test would notice it being echoed).
    if key_known && em.request_count() > 0 {
        assert_eq!(em.log()[0].header("x-tc-token"), Some(TOKEN));
    }
    result.err()
}

fn echo(code: &str) -> Fault {
    Fault::ApiError {
        code: code.into(),
        message: Some(format!("bad key {KEY} or token {TOKEN}")),
    }
}

#[tokio::test]
async fn no_secret_in_errors_or_progress() {
    let mut errors = Vec::new();
    let scenarios: Vec<(Vec<FaultRule>, bool)> = vec![
        (vec![], false), // wrong key: SignatureFailure
        (
            vec![FaultRule::once(echo("AuthFailure.TokenFailure")).forever()],
            true,
        ),
        (vec![FaultRule::once(echo("InternalError")).forever()], true),
        (
            vec![FaultRule::once(echo("RequestLimitExceeded")).times(2)]
                .into_iter()
                .chain([FaultRule::once(echo("InvalidParameter")).forever()])
                .collect(),
            true,
        ),
        (
            vec![
                FaultRule::once(Fault::Http {
                    status: 502,
                    body: Some(format!("<h1>gateway saw {KEY} and {TOKEN}</h1>")),
                })
                .forever(),
            ],
            true,
        ),
        // A gateway that echoes the token header where the 200-character
        // excerpt of its body ends: redacted before the cut.
        (
            vec![
                FaultRule::once(Fault::Http {
                    status: 502,
                    body: Some(format!("{} {{header:X-TC-Token}} after", "x".repeat(180))),
                })
                .forever(),
            ],
            true,
        ),
        (vec![FaultRule::once(Fault::Truncate).forever()], true),
        (
            vec![FaultRule::once(Fault::Delay { ms: 1000 }).forever()],
            true,
        ),
        (
            vec![
                FaultRule::once(Fault::TotalCountDelta { delta: 1 })
                    .at_offset(100)
                    .forever(),
            ],
            true,
        ),
        (
            vec![FaultRule::once(echo("AuthFailure.SignatureExpire")).forever()],
            true,
        ),
    ];
    for (faults, key_known) in scenarios {
        errors.push(run(faults, key_known, |_| {}).await.expect("an error"));
    }
    // Errors found before any request, and a transport error.
    errors.push(
        run(vec![], true, |c| c.endpoint = "http://192.0.2.1".into())
            .await
            .unwrap(),
    );
    errors.push(
        run(vec![], true, |c| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            c.endpoint = format!("http://127.0.0.1:{port}");
        })
        .await
        .unwrap(),
    );
    errors.push(
        run(vec![], true, |c| {
            c.credentials = Credentials::new(ID, KEY, Some(format!("{TOKEN}\n")));
        })
        .await
        .unwrap(),
    );
    assert_eq!(errors.len(), 13);
    for err in &errors {
        assert_clean("Display", &err.to_string());
        assert_clean("Debug", &format!("{err:?}"));
        assert_clean("miette", &render(err));
        assert_eq!(
            ecmguard::exit::ExitCode::of_fetch_error(err).code(),
            if matches!(err, FetchError::InsecureEndpoint { .. }) {
                2
            } else {
                3
            },
            "{err:?}"
        );
    }
    // The redacted server message is still shown, with the secrets masked.
    let echoed = errors
        .iter()
        .find(|e| e.api_error().is_some_and(|a| a.code == "InternalError"))
        .unwrap();
    assert!(
        echoed.to_string().contains("bad key *** or token ***"),
        "{echoed}"
    );
}
