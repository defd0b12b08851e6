//! [`Token`]: the shared secret every protected route asks for, compared in constant time,
//! and [`redact`] for logging request targets without it.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

/// The token a server requires. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token; `None` for an empty one (which would let anybody in).
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let secret = secret.into();
        (!secret.is_empty()).then_some(Self(secret))
    }

    /// Whether `presented` is the token, compared in constant time (for equal lengths).
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// Whether the request carries the token: `Authorization: Bearer TOKEN`, or `token=TOKEN`
    /// in its query (browsers cannot set headers on a WebSocket).
    ///
    /// ```
    /// use axum::http::HeaderMap;
    /// use bidi_server::auth::Token;
    ///
    /// let token = Token::new("s3cret").unwrap();
    /// let mut headers = HeaderMap::new();
    /// assert!(token.admits(&headers, Some("token=s3cret&session=a")));
    /// assert!(!token.admits(&headers, Some("token=wrong")));
    /// headers.insert("authorization", "Bearer s3cret".parse().unwrap());
    /// assert!(token.admits(&headers, None));
    /// ```
    pub fn admits(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|b| self.matches(b.trim())) {
            return true;
        }
        query_param(query, "token").is_some_and(|t| self.matches(&t))
    }
}

/// The value of `name` in a URL query string, decoded as a form (`%XX`, `+` as a space).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `target` (a path and query) with the value of every `token` parameter replaced by
/// `<redacted>`, for logs.
///
/// ```
/// assert_eq!(bidi_server::auth::redact("/ws?token=abc&session=s1"), "/ws?token=<redacted>&session=s1");
/// assert_eq!(bidi_server::auth::redact("/healthz"), "/healthz");
/// ```
pub fn redact(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("token", _)) => "token=<redacted>".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_percent_decoded() {
        assert_eq!(
            query_param(Some("token=a%2Bb%3D"), "token").as_deref(),
            Some("a+b=")
        );
        assert_eq!(
            query_param(Some("x=1&token=a+b"), "token").as_deref(),
            Some("a b")
        );
        assert_eq!(
            query_param(Some("token=%zz%"), "token").as_deref(),
            Some("%zz%")
        );
        assert_eq!(
            query_param(Some("token=%4"), "token").as_deref(),
            Some("%4")
        );
        assert_eq!(query_param(Some("other=1"), "token"), None);
        assert_eq!(query_param(None, "token"), None);
    }

    #[test]
    fn an_empty_token_is_refused_and_a_wrong_one_does_not_match() {
        assert!(Token::new("").is_none());
        let t = Token::new("abc").expect("token");
        assert!(t.matches("abc"));
        assert!(!t.matches("abd"));
        assert!(!t.matches("ab"));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn a_bearer_header_with_the_wrong_token_falls_back_to_the_query() {
        let t = Token::new("abc").expect("token");
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer nope".parse().expect("header"));
        assert!(!t.admits(&headers, None));
        assert!(t.admits(&headers, Some("token=abc")));
        headers.insert(AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert!(!t.admits(&headers, None));
    }
}
