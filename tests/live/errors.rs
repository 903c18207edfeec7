//! API errors as the user sees them: code, message, RequestId, and the hint for the common
//! causes (clock skew, wrong key, missing CAM permission).

use ecm_emulator::{Clock, Config, Emulator, Fault, FaultRule, FaultScript};
use ecmguard::source::live::{ApiErrorKind, Credentials, FetchError, Language, fetch_all};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use super::support::{emulator, fast_config};

pub fn render(err: &FetchError) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_links(false)
        .with_width(200)
        .render_report(&mut out, &err.diag() as &dyn Diagnostic)
        .unwrap();
    out
}

#[tokio::test]
async fn clock_skew_gives_signature_expire_with_a_clock_hint() {
    let mut config = Config::new(ecm_emulator::generate_images(10));
    config.clock = Clock::offset(10 * 60); // the server is 10 minutes ahead of us
    let em = Emulator::start(config).await.unwrap();
    let err = fetch_all(&fast_config(&em), &|_| {}).await.unwrap_err();
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
    let api = err.api_error().expect("API error");
    assert_eq!(api.code, "AuthFailure.SignatureExpire");
    assert_eq!(api.kind, ApiErrorKind::SignatureExpire);
    assert_eq!(
        em.request_count(),
        2,
        "re-signed and retried exactly once, then given up"
    );
    let shown = render(&err);
    assert!(shown.contains("ecmguard::api-signature-expire"), "{shown}");
    assert!(shown.contains("AuthFailure.SignatureExpire"), "{shown}");
    // The RequestId of the answer that ended the fetch, as the service gave it.
    let last = em.log().last().map(|e| e.request_id.clone()).unwrap();
    assert!(
        err.to_string().contains(&format!("RequestId {last}")),
        "{err}"
    );
    assert!(shown.contains("clock"), "{shown}");
    assert!(shown.contains("5 minutes"), "{shown}");

    // Within the five minutes, it works.
    em.set_clock(Clock::offset(4 * 60));
    assert!(fetch_all(&fast_config(&em), &|_| {}).await.is_ok());
}

#[tokio::test]
async fn unknown_secret_id_and_wrong_key_say_which() {
    let em = emulator(10, FaultScript::none()).await;
    let mut cfg = fast_config(&em);
    cfg.credentials = Credentials::new("AKIDnobody", "whatever", None);
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(api.code, "AuthFailure.SecretIdNotFound");
    let shown = render(&err);
    assert!(
        shown.contains("ecmguard::api-secret-id-not-found"),
        "{shown}"
    );
    assert!(shown.contains("AKIDnobody"), "{shown}");
    assert!(shown.contains("typos"), "{shown}");
    assert_eq!(em.request_count(), 1);

    cfg.credentials = Credentials::new(ecm_emulator::DEFAULT_SECRET_ID, "not-the-key", None);
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    assert_eq!(
        err.api_error().unwrap().code,
        "AuthFailure.SignatureFailure"
    );
    let shown = render(&err);
    assert!(shown.contains("secret key does not match"), "{shown}");
    assert_eq!(em.request_count(), 2, "never retried");
}

#[tokio::test]
async fn missing_permission_hints_at_cam() {
    let em = emulator(
        10,
        FaultScript::new(vec![
            FaultRule::once(Fault::ApiError {
                code: "UnauthorizedOperation.ForbiddenOperation".into(),
                message: Some("no permission".into()),
            })
            .forever(),
        ]),
    )
    .await;
    let err = fetch_all(&fast_config(&em), &|_| {}).await.unwrap_err();
    let shown = render(&err);
    assert!(shown.contains("ecmguard::api-unauthorized"), "{shown}");
    assert!(shown.contains("CAM"), "{shown}");
    assert!(shown.contains("ecm:DescribeImage"), "{shown}");
    assert!(shown.contains("no permission"), "{shown}");
}

#[tokio::test]
async fn every_error_has_a_code_and_help() {
    let em = emulator(10, FaultScript::none()).await;
    let mut cfg = fast_config(&em);
    cfg.endpoint = "http://10.1.2.3".into();
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    assert!(matches!(err, FetchError::InsecureEndpoint { .. }));
    assert_eq!(err.code().name(), "insecure-endpoint");
    assert!(render(&err).contains("ecmguard::insecure-endpoint"));
    assert!(!err.help().is_empty());
    assert_eq!(em.request_count(), 0);
}

/// Chinese-language users have the service answer in Chinese (`X-TC-Language:
/// zh-CN`, the SDKs' and tccli's default). ecmguard's diagnostic shows such a
/// message whole, with the RequestId the service gave, wrapped by display
/// width (a Chinese character takes two columns of a terminal).
#[tokio::test]
async fn a_chinese_message_is_shown_whole_and_wrapped_by_display_width() {
    use ecmguard::report::human::{Style, render_diagnostic};
    use unicode_width::UnicodeWidthStr;

    let em = emulator(10, FaultScript::none()).await;
    let mut cfg = fast_config(&em);
    cfg.language = Language::ZhCn;
    cfg.credentials = Credentials::new(ecm_emulator::DEFAULT_SECRET_ID, "not-the-key", None);
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    let api = err.api_error().expect("an API error");
    let message = "签名错误。 签名计算错误，请对照调用方式中的接口鉴权文档检查签名计算过程。";
    assert_eq!(api.code, "AuthFailure.SignatureFailure");
    assert_eq!(api.message, message);
    let request_id = em.log()[0].request_id.clone();
    for width in [50, 80, 120] {
        let style = Style {
            width,
            ..Style::default()
        };
        let shown = render_diagnostic(&err.diag(), style);
        for line in shown.lines() {
            assert!(
                line.width() <= width,
                "{} columns at width {width}: {line}",
                line.width()
            );
        }
        // Whole: the lines, without their frame and the spaces where they
        // were broken, hold the message (Chinese breaks between characters,
        // where no space is lost) and the RequestId, which is never broken.
        let text = crate::support::unframed(&shown);
        assert!(
            text.contains(&message.replace(' ', "")),
            "not whole at width {width}: {text}"
        );
        assert!(text.contains(&request_id), "{text}");
    }
}

/// A message in Chinese that holds a control character (a fault script's, as
/// a hostile proxy might answer) is escaped, and the Chinese around it is
/// left alone.
#[tokio::test]
async fn a_chinese_message_is_escaped_not_mangled() {
    use ecmguard::report::human::{Style, render_diagnostic};

    let em = emulator(
        10,
        FaultScript::new(vec![FaultRule::once(Fault::ApiError {
            code: "InvalidParameterValue.InvalidImageID".into(),
            message: Some("镜像ID不合法。\u{1b}[2J\r伪造的一行".into()),
        })]),
    )
    .await;
    let mut cfg = fast_config(&em);
    cfg.language = Language::ZhCn;
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    let shown = render_diagnostic(&err.diag(), Style::default());
    assert!(!shown.contains(['\u{1b}', '\r']), "{shown:?}");
    assert!(
        shown.contains("镜像ID不合法。\\u{1b}[2J\\u{d}伪造的一行"),
        "{shown}"
    );
}
