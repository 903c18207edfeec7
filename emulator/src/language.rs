//! `X-TC-Language`: the language the service answers errors in. The SDKs and
//! tccli send `zh-CN` unless told otherwise, and the service then answers in
//! Chinese; the emulator does too, so a client's diagnostics can be tried
//! with the messages Chinese-language users see.
//!
//! The Chinese text of a code is the one Tencent documents for it: ECM's own
//! codes as the official Go SDK lists them (`ecm/v20190719/errors.go`), the
//! common codes as Tencent Cloud's common error code table (公共错误码) words
//! them. Such a text says what the code means, not the details the emulator's
//! English messages add (which parameter, which value). A code without a
//! documented text here keeps its English message, and so does a message a
//! fault script gives.

use axum::http::HeaderMap;

/// The language of the error messages of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// `en-US`, no header, or any other value.
    English,
    /// `zh-CN`.
    Chinese,
}

impl Language {
    /// What a request asks for.
    pub(crate) fn of(headers: &HeaderMap) -> Language {
        match headers.get("x-tc-language").and_then(|v| v.to_str().ok()) {
            Some(value) if value.trim().eq_ignore_ascii_case("zh-CN") => Language::Chinese,
            _ => Language::English,
        }
    }

    /// The message of an error with `code` in this language: its documented
    /// Chinese text, when there is one, or `english`.
    pub(crate) fn message(self, code: &str, english: &str) -> String {
        match self {
            Language::Chinese => chinese(code).unwrap_or(english).to_owned(),
            Language::English => english.to_owned(),
        }
    }
}

/// The documented Chinese text of the codes the emulator answers with.
pub(crate) fn chinese(code: &str) -> Option<&'static str> {
    Some(match code {
        // ECM's codes (the Go SDK's errors.go for ECM).
        "AuthFailure.UnauthorizedOperation" => "鉴权失败。",
        "FailedOperation.ImageInUse" => "镜像正在使用中。",
        "FailedOperation.InternalOperationFailure" => "内部操作错误。",
        "FailedOperation.OperationNotAllow" => "不允许执行当前操作。",
        "InternalError" => "内部错误。",
        "InvalidParameter" => "参数错误。",
        "InvalidParameter.InvalidDataFormat" => "数据格式不正确。",
        "InvalidParameterValue" => "参数取值错误。",
        "InvalidParameterValue.FilterLimitExceeded" => "Filter参数数值超过限制。",
        "InvalidParameterValue.ImageNameDuplicate" => "镜像名称重复。",
        // Sic: the real code is spelled "Invaild".
        "InvalidParameterValue.InvaildPageParam" => "分页参数不合法。",
        "InvalidParameterValue.InvalidFilter" => "无效过滤器。",
        "InvalidParameterValue.InvalidImageID" => "镜像ID不合法。",
        "InvalidParameterValue.ParameterValueTooLarge" => "参数值超出限制。",
        "LimitExceeded" => "超过配额限制。",
        "MissingParameter" => "缺少参数错误。",
        "MissingParameter.MissingImageParameter" => "镜像操作参数不全。",
        "ResourceNotFound" => "资源不存在。",
        "UnauthorizedOperation.ForbiddenOperation" => "没有权限进行该操作。",
        "UnsupportedOperation" => "操作不支持。",
        // The common codes (Tencent Cloud's common error code table).
        "AuthFailure.InvalidSecretId" => "密钥非法（不是云 API 密钥类型）。",
        "AuthFailure.MFAFailure" => "MFA 错误。",
        "AuthFailure.SecretIdNotFound" => {
            "密钥不存在。 请在控制台检查密钥是否已被删除或者禁用，如状态正常，请检查密钥是否填写正确，注意前后不得有空格。"
        }
        "AuthFailure.SignatureExpire" => {
            "签名过期。Timestamp 和服务器时间相差不得超过五分钟，请检查本地时间是否和标准时间同步。"
        }
        "AuthFailure.SignatureFailure" => {
            "签名错误。 签名计算错误，请对照调用方式中的接口鉴权文档检查签名计算过程。"
        }
        "AuthFailure.TokenFailure" => "token 错误。",
        "InvalidAction" => "接口不存在。",
        "NoSuchVersion" => "接口版本不存在。",
        "RequestLimitExceeded" => "请求的次数超过了频率限制。",
        "UnknownParameter" => "未知参数错误。",
        "UnsupportedProtocol" => "HTTP(S)请求协议错误，只支持 GET 和 POST 请求。",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn asking(value: Option<&'static str>) -> Language {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert("x-tc-language", HeaderValue::from_static(value));
        }
        Language::of(&headers)
    }

    #[test]
    fn zh_cn_asks_for_chinese_and_anything_else_for_english() {
        assert_eq!(asking(Some("zh-CN")), Language::Chinese);
        assert_eq!(asking(Some("zh-cn")), Language::Chinese);
        assert_eq!(asking(Some("en-US")), Language::English);
        assert_eq!(asking(None), Language::English);
        assert_eq!(asking(Some("fr-FR")), Language::English);
    }

    #[test]
    fn a_code_without_a_documented_text_keeps_its_english_message() {
        let chinese = Language::Chinese;
        assert_eq!(
            chinese.message("InvalidParameterValue.InvalidImageID", "bad id"),
            "镜像ID不合法。"
        );
        assert_eq!(
            chinese.message("AuthFailure.InvalidAuthorization", "no header"),
            "no header"
        );
        assert_eq!(
            Language::English.message("InternalError", "An internal error occurred."),
            "An internal error occurred."
        );
    }
}
