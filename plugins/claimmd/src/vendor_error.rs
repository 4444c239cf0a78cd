//! Classifying the `error` elements Claim.MD answers with HTTP 200.
//!
//! Claim.MD publishes no list of error codes, so the class is read from the message:
//! one that says the service is temporarily unable (maintenance, busy, "try again")
//! did nothing and may be asked again — transient; everything else (a refused
//! AccountKey, a file it cannot read, data it refuses) fails the same way however
//! often it is sent — final. A refused AccountKey gets its own wording so the admin
//! knows to fix the credential.

use claimbridge_plugin_sdk::PluginError;

use crate::wire::WireError;

/// Words in a Claim.MD error message that mean "not now" rather than "not this".
const TEMPORARY: &[&str] = &[
    "try again",
    "temporar",
    "unavailable",
    "maintenance",
    "timed out",
    "timeout",
    "busy",
    "too many",
    "rate limit",
    "throttl",
    "overload",
    "later",
];

/// Words that mean the AccountKey itself was refused.
const CREDENTIAL: &[&str] = &[
    "accountkey",
    "account key",
    "unauthorized",
    "not authorized",
    "authentication",
];

/// How a Claim.MD error reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Temporary,
    Credential,
    Refusal,
}

pub(crate) fn kind(error: &WireError) -> Kind {
    let text = describe(error).to_lowercase();
    if CREDENTIAL.iter().any(|word| text.contains(word)) {
        Kind::Credential
    } else if TEMPORARY.iter().any(|word| text.contains(word)) {
        Kind::Temporary
    } else {
        Kind::Refusal
    }
}

/// The failure `errors` (non-empty) amount to for a call to `service`: transient
/// only if every one of them is temporary.
pub(crate) fn classify(service: &str, errors: &[WireError]) -> PluginError {
    let mut text = errors.iter().map(describe).collect::<Vec<_>>().join("; ");
    // Claim.MD may quote the data it refused; keep messages short for attempt logs.
    truncate(&mut text, 300);
    let kinds: Vec<Kind> = errors.iter().map(kind).collect();
    if kinds.contains(&Kind::Credential) {
        PluginError::rejected(format!(
            "Claim.MD refused the AccountKey ({service}): {text}; check the integration's `accountKey` credential"
        ))
    } else if !kinds.is_empty() && kinds.iter().all(|kind| *kind == Kind::Temporary) {
        PluginError::transient(format!("Claim.MD {service} is temporarily unable: {text}"))
    } else {
        PluginError::rejected(format!("Claim.MD {service} refused the request: {text}"))
    }
}

fn describe(error: &WireError) -> String {
    match (&error.error_code, &error.error_mesg) {
        (Some(code), Some(message)) => format!("[{code}] {message}"),
        (None, Some(message)) => message.clone(),
        (Some(code), None) => format!("[{code}]"),
        (None, None) => "an error without a message".to_owned(),
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::ErrorClass;

    use super::*;

    fn error(code: &str, message: &str) -> WireError {
        WireError {
            error_code: Some(code.into()),
            error_mesg: Some(message.into()),
        }
    }

    #[test]
    fn a_refused_account_key_is_final_and_says_which_credential() {
        let failure = classify("upload", &[error("1", "Invalid AccountKey")]);
        assert_eq!(failure.class(), ErrorClass::Final);
        assert!(failure.to_string().contains("accountKey"), "{failure}");
    }

    #[test]
    fn data_errors_are_final() {
        let failure = classify("upload", &[error("200", "Unrecognized file format")]);
        assert_eq!(failure.class(), ErrorClass::Final);
    }

    #[test]
    fn temporary_trouble_is_transient() {
        for message in [
            "System is down for maintenance",
            "Service temporarily unavailable, please try again later",
            "Server busy",
        ] {
            let failure = classify("response", &[error("900", message)]);
            assert_eq!(failure.class(), ErrorClass::Transient, "{message}");
        }
    }

    #[test]
    fn a_data_error_beside_a_temporary_one_is_still_final() {
        let failure = classify(
            "upload",
            &[error("900", "try again later"), error("200", "Bad payer id")],
        );
        assert_eq!(failure.class(), ErrorClass::Final);
    }

    #[test]
    fn long_messages_are_cut() {
        let failure = classify("upload", &[error("1", &"é".repeat(400))]);
        assert!(failure.to_string().chars().count() < 400);
    }
}
