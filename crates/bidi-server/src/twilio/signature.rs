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
/// // Twilio's documented example.
/// let signer = TwilioSigner::new("12345").unwrap();
/// let params: Vec<(String, String)> = [
///     ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
///     ("From", "+12349013030"), ("To", "+18005551212"),
/// ].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
/// let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// assert_eq!(signer.sign(url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
/// assert!(signer.verify(url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
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
    /// GET or the Media Streams upgrade).
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

    fn documented() -> (String, Vec<(String, String)>) {
        let params = [
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("Caller", "+12349013030"),
            ("From", "+12349013030"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        (
            "https://mycompany.com/myapp.php?foo=1&bar=2".to_owned(),
            params,
        )
    }

    #[test]
    fn twilios_example_verifies_in_any_parameter_order() {
        let (url, params) = documented();
        let signer = TwilioSigner::new("12345").expect("signer");
        assert!(signer.verify(&url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn a_wrong_token_url_parameter_or_signature_fails() {
        let (url, mut params) = documented();
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert!(
            !TwilioSigner::new("54321")
                .expect("signer")
                .verify(&url, &params, good)
        );
        let signer = TwilioSigner::new("12345").expect("signer");
        assert!(!signer.verify("https://mycompany.com/myapp.php?foo=1&bar=3", &params, good));
        assert!(!signer.verify(&url, &params, ""));
        assert!(!signer.verify(&url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
        params.pop();
        assert!(!signer.verify(&url, &params, good));
        assert!(TwilioSigner::new("").is_none());
        assert!(!format!("{signer:?}").contains("12345"));
    }

    #[test]
    fn a_websocket_url_is_signed_alone() {
        let signer = TwilioSigner::new("tok").expect("signer");
        let url = "wss://voice.example.com/twilio/media";
        let sig = signer.sign(url, &[]);
        assert!(signer.verify(url, &[], &sig));
        assert!(!signer.verify("wss://voice.example.com/twilio/media2", &[], &sig));
    }
}
