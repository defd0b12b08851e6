//! [`TwilioSigner`]: Twilio's request signatures (`X-Twilio-Signature`): base64 of
//! HMAC-SHA1, keyed by the account's auth token, over the URL Twilio requested followed by
//! every POST parameter sorted by name, each name immediately followed by its value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Signs and checks Twilio requests with an account's auth token. Its `Debug` never shows
/// the token.
///
/// ```
/// use bidi_server::twilio::signature::TwilioSigner;
///
/// // The worked example of Twilio's security docs (twilio.com/docs/usage/security).
/// let signer = TwilioSigner::new("12345").unwrap();
/// let params: Vec<(String, String)> = [
///     ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
///     ("From", "+14158675310"), ("To", "+18005551212"),
/// ].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
/// let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// assert_eq!(signer.sign(url, &params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
/// assert!(signer.verify(url, &params, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
/// // A Media Streams upgrade is signed over its URL alone.
/// let stream = "wss://mycompany.com/twilio/media";
/// assert!(signer.verify(stream, &[], &signer.sign(stream, &[])));
/// ```
#[derive(Clone)]
pub struct TwilioSigner {
    auth_token: String,
}

impl std::fmt::Debug for TwilioSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwilioSigner(<redacted>)")
    }
}

impl TwilioSigner {
    /// A signer for `auth_token`; `None` for an empty token.
    pub fn new(auth_token: impl Into<String>) -> Option<Self> {
        let auth_token = auth_token.into();
        (!auth_token.is_empty()).then_some(Self { auth_token })
    }

    /// The signature of a request to `url` with the POST parameters `params` (none for a
    /// GET or the Media Streams upgrade): sorted by name, then by value for a repeated name.
    pub fn sign(&self, url: &str, params: &[(String, String)]) -> String {
        let mut sorted: Vec<&(String, String)> = params.iter().collect();
        sorted.sort();
        // HMAC takes keys of any length.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(self.auth_token.as_bytes()) else {
            return String::new();
        };
        mac.update(url.as_bytes());
        for (name, value) in sorted {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is the request's, compared in constant time.
    pub fn verify(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        let expected = self.sign(url, params);
        !signature.is_empty() && bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The example of twilio.com/docs/usage/security, out of order on purpose.
    fn documented() -> Vec<(String, String)> {
        params(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("Caller", "+14158675310"),
            ("From", "+14158675310"),
        ])
    }
    const DOCUMENTED: &str = "GvWf1cFY/Q7PnoempGyD5oXAezc=";

    fn signer() -> TwilioSigner {
        TwilioSigner::new(TOKEN).expect("signer")
    }

    #[test]
    fn twilios_documented_example_signs_and_verifies_in_any_parameter_order() {
        let params = documented();
        assert_eq!(signer().sign(URL, &params), DOCUMENTED);
        assert!(signer().verify(URL, &params, DOCUMENTED));
        let mut reversed = params;
        reversed.reverse();
        assert!(signer().verify(URL, &reversed, DOCUMENTED));
    }

    #[test]
    fn other_published_examples_sign_the_same() {
        // The same page's earlier numbers, and twilio-python's tests
        // (tests/unit/test_request_validator.py), repeated names included: sorted by value.
        for (number, expected) in [
            ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ] {
            let params = params(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", number),
                ("Digits", "1234"),
                ("From", number),
                ("To", "+18005551212"),
            ]);
            assert_eq!(signer().sign(URL, &params), expected, "{number}");
        }
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signer().sign(URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn a_wrong_token_url_or_parameter_fails() {
        let params = documented();
        let other = TwilioSigner::new("54321").expect("signer");
        assert!(!other.verify(URL, &params, DOCUMENTED));
        assert!(!signer().verify(
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            DOCUMENTED
        ));
        assert!(!signer().verify(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            DOCUMENTED
        ));
        let mut missing = params.clone();
        missing.retain(|(k, _)| k != "Digits");
        assert!(!signer().verify(URL, &missing, DOCUMENTED));
        let mut tampered = params;
        tampered[2].1 = "9999".to_owned();
        assert!(!signer().verify(URL, &tampered, DOCUMENTED));
    }

    #[test]
    fn an_empty_or_mangled_signature_fails() {
        let params = documented();
        assert!(!signer().verify(URL, &params, ""));
        assert!(!signer().verify(URL, &params, "GvWf1cFY/Q7PnoempGyD5oXAezc"));
        assert!(!signer().verify(URL, &params, "gvwf1cfy/q7pnoempgyd5oxaezc="));
        assert!(!signer().verify(URL, &params, "GvWf1cFY/Q7PnoempGyD5oXAezc=="));
    }

    #[test]
    fn a_websocket_url_is_signed_alone() {
        // Computed with Python's hmac and hashlib.
        let url = "wss://mycompany.com/twilio/media";
        assert_eq!(signer().sign(url, &[]), "nj6/SLG+LpRj6n6ykso8BFMuYnU=");
        assert!(signer().verify(url, &[], "nj6/SLG+LpRj6n6ykso8BFMuYnU="));
        assert!(!signer().verify(
            "wss://mycompany.com/twilio/media2",
            &[],
            "nj6/SLG+LpRj6n6ykso8BFMuYnU="
        ));
        assert!(!signer().verify(
            url,
            &params(&[("CallSid", "CA1")]),
            "nj6/SLG+LpRj6n6ykso8BFMuYnU="
        ));
    }

    #[test]
    fn no_empty_token_and_no_token_in_debug() {
        assert!(TwilioSigner::new("").is_none());
        let shown = format!("{:?}", signer());
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}
