//! Endpoint URLs as users write them: each provider takes its base URL (`wss://host[:port]`)
//! or the full URL its documentation shows, and turns it into the one URL its client connects
//! to, never doubling a path and keeping query parameters.
//!
//! Pure functions, no IO; the configs call them when a model is built, so a malformed URL is
//! a [`ModelError::Config`] naming the accepted forms before anything connects.
//!
//! | provider | base URL | full URL (kept as given) |
//! | --- | --- | --- |
//! | OpenAI Realtime | `wss://host[:port]` → `/v1/realtime` added | `wss://host/v1/realtime[?model=...]`, or any other path (a proxy's, Azure's) |
//! | Gemini Live | `wss://host[:port]`, `wss://host/ws`, `wss://host/PREFIX` → `/ws/google.ai.generativelanguage.VERSION.GenerativeService.BidiGenerateContent` added | `wss://host/ws/google.ai.generativelanguage.VERSION.GenerativeService.BidiGenerateContent` (any version; `...Constrained` too) |
//! | Nova Sonic | `https://bedrock-runtime.REGION.amazonaws.com` (any host, `http://` for a local server) | `https://host/model/MODEL_ID/invoke-with-bidirectional-stream` (the model id and, on AWS hosts, the region are taken from it) |

use bidi_types::ModelError;
use url::Url;

/// The path OpenAI's documentation gives for the Realtime WebSocket.
pub const OPENAI_REALTIME_PATH: &str = "/v1/realtime";

/// The Gemini Live service path's prefix; the API version follows.
const GEMINI_SERVICE_PREFIX: &str = "google.ai.generativelanguage.";

/// The Gemini Live methods a full URL may end with.
const GEMINI_METHODS: &[&str] = &[
    ".GenerativeService.BidiGenerateContent",
    ".GenerativeService.BidiGenerateContentConstrained",
];

/// The accepted forms, for error messages.
const OPENAI_FORMS: &str = "wss://HOST[:PORT] (the path /v1/realtime is added), \
     wss://HOST[:PORT]/v1/realtime[?model=MODEL] as OpenAI's docs show, \
     or wss://HOST[:PORT]/ANY/PATH[?QUERY] (a proxy's or Azure's path, kept as given); ws:// for plain text";
const GEMINI_FORMS: &str = "wss://HOST[:PORT] or wss://HOST[:PORT]/PREFIX (the path \
     /ws/google.ai.generativelanguage.VERSION.GenerativeService.BidiGenerateContent is added), \
     wss://HOST[:PORT]/ws (the service path is added after it), \
     or the full wss://HOST[:PORT]/ws/google.ai.generativelanguage.VERSION.GenerativeService.BidiGenerateContent \
     as Google's docs show; ws:// for plain text";
const NOVA_FORMS: &str = "https://bedrock-runtime.REGION.amazonaws.com (any host and port; http:// \
     for a local server), optionally followed by a path prefix, \
     or the full https://HOST/model/MODEL_ID/invoke-with-bidirectional-stream";

/// A URL parsed for the WebSocket providers: `ws://` or `wss://`, a host, no fragment.
fn parse_ws(provider: &str, endpoint: &str, forms: &str) -> Result<Url, ModelError> {
    let fail = |why: &str| {
        ModelError::Config(format!(
            "endpoint=<{}> | {why}; {provider} accepts {forms}",
            shown(endpoint)
        ))
    };
    let url = Url::parse(endpoint.trim()).map_err(|e| fail(&format!("not a URL ({e})")))?;
    match url.scheme() {
        "ws" | "wss" => {}
        "http" | "https" => {
            return Err(fail(&format!(
                "the scheme must be ws:// or wss://, not {}://",
                url.scheme()
            )));
        }
        other => return Err(fail(&format!("unknown scheme {other}://"))),
    }
    check_common(&url, fail)?;
    Ok(url)
}

/// What every endpoint needs: a host, no fragment, no credentials in the URL.
fn check_common(url: &Url, fail: impl Fn(&str) -> ModelError) -> Result<(), ModelError> {
    if url.host_str().is_none_or(str::is_empty) {
        return Err(fail("the URL has no host"));
    }
    if url.fragment().is_some() {
        return Err(fail("a #fragment is not allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(
            "credentials in the URL are not allowed (use the API key settings)",
        ));
    }
    Ok(())
}

/// `endpoint` without its query string (which may carry a key) and without any
/// `user:password@`, for messages and logs.
///
/// ```
/// use bidi_model::endpoint::shown;
/// assert_eq!(shown("wss://u:p@h/v1/realtime?key=k"), "wss://h/v1/realtime");
/// ```
pub fn shown(endpoint: &str) -> String {
    let bare = endpoint.split(['?', '#']).next().unwrap_or_default();
    match bare.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => bare.to_owned(),
            }
        }
        None => bare.to_owned(),
    }
}

/// The URL an OpenAI Realtime client connects to for `endpoint` and `model_id`.
///
/// A base URL gets `/v1/realtime`; any other path is kept. `model=<model_id>` is added to the
/// query unless the query already names a model. Other query parameters are kept in order.
///
/// ```
/// use bidi_model::endpoint::openai_url;
/// let url = |e| openai_url(e, "gpt-realtime").unwrap();
/// assert_eq!(url("wss://api.openai.com"), "wss://api.openai.com/v1/realtime?model=gpt-realtime");
/// assert_eq!(
///     url("wss://api.openai.com/v1/realtime?model=gpt-realtime-mini"),
///     "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini"
/// );
/// assert_eq!(url("ws://127.0.0.1:8765/"), "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime");
/// assert_eq!(url("wss://proxy.local/rt?deployment=x"), "wss://proxy.local/rt?deployment=x&model=gpt-realtime");
/// assert!(openai_url("https://api.openai.com/v1/realtime", "m").is_err());
/// ```
pub fn openai_url(endpoint: &str, model_id: &str) -> Result<String, ModelError> {
    let mut url = parse_ws("OpenAI Realtime", endpoint, OPENAI_FORMS)?;
    let path = url.path().trim_end_matches('/').to_owned();
    if path.is_empty() {
        url.set_path(OPENAI_REALTIME_PATH);
    } else {
        url.set_path(&path);
    }
    if !url.query_pairs().any(|(k, _)| k == "model") {
        url.query_pairs_mut().append_pair("model", model_id);
    }
    Ok(url.into())
}

/// The URL a Gemini Live client connects to for `endpoint`, with `api_version` when the URL
/// does not name one.
///
/// A full URL (ending with `.GenerativeService.BidiGenerateContent`, any API version) is kept
/// as given; a URL whose path ends in `/ws` gets the service path after it; any other URL
/// (a bare host, or a proxy's path prefix) gets `/ws/` and the service path, as google-genai
/// builds it from a base URL. Query parameters are kept.
///
/// ```
/// use bidi_model::endpoint::gemini_url;
/// let full = "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";
/// assert_eq!(gemini_url(full, "v1alpha").unwrap(), full);
/// assert_eq!(gemini_url("wss://generativelanguage.googleapis.com", "v1beta").unwrap(), full);
/// assert_eq!(gemini_url("wss://generativelanguage.googleapis.com/ws/", "v1beta").unwrap(), full);
/// assert!(gemini_url("https://generativelanguage.googleapis.com", "v1beta").is_err());
/// ```
pub fn gemini_url(endpoint: &str, api_version: &str) -> Result<String, ModelError> {
    let fail = |why: &str| {
        ModelError::Config(format!(
            "endpoint=<{}> | {why}; Gemini Live accepts {GEMINI_FORMS}",
            shown(endpoint)
        ))
    };
    let mut url = parse_ws("Gemini Live", endpoint, GEMINI_FORMS)?;
    let path = url.path().trim_end_matches('/').to_owned();
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.starts_with(GEMINI_SERVICE_PREFIX) || last.contains("GenerativeService") {
        let known = last.starts_with(GEMINI_SERVICE_PREFIX)
            && GEMINI_METHODS.iter().any(|m| {
                last.strip_suffix(m).is_some_and(|rest| {
                    let version = &rest[GEMINI_SERVICE_PREFIX.len().min(rest.len())..];
                    !version.is_empty() && !version.contains('.')
                })
            });
        if !known {
            return Err(fail(&format!("unknown service method {last:?}")));
        }
        url.set_path(&path);
        return Ok(url.into());
    }
    if api_version.is_empty() || api_version.contains(['/', '.', '?', '#']) {
        return Err(fail(&format!(
            "api_version={api_version:?} is not a version"
        )));
    }
    let service =
        format!("{GEMINI_SERVICE_PREFIX}{api_version}.GenerativeService.BidiGenerateContent");
    let full = if path.ends_with("/ws") {
        format!("{path}/{service}")
    } else {
        format!("{path}/ws/{service}")
    };
    url.set_path(&full);
    Ok(url.into())
}

/// A Bedrock runtime endpoint as the AWS SDK takes it, with what a full URL also said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockEndpoint {
    /// The endpoint URL for the SDK: scheme, host, port and any path prefix, with the query.
    pub url: String,
    /// The model id a full URL named (percent-decoded), if any.
    pub model_id: Option<String>,
    /// The region an AWS host names (`bedrock-runtime.REGION.amazonaws.com`), if any.
    pub region: Option<String>,
}

/// The endpoint the Bedrock client uses for `endpoint`: the base URL as given, or a full
/// `.../model/MODEL_ID/invoke-with-bidirectional-stream` URL cut back to its base (the SDK
/// adds the operation's path itself), with the model id and region it names.
///
/// ```
/// use bidi_model::endpoint::bedrock_endpoint;
/// let e = bedrock_endpoint(
///     "https://bedrock-runtime.eu-north-1.amazonaws.com/model/amazon.nova-2-sonic-v1:0/invoke-with-bidirectional-stream",
/// ).unwrap();
/// assert_eq!(e.url, "https://bedrock-runtime.eu-north-1.amazonaws.com");
/// assert_eq!(e.model_id.as_deref(), Some("amazon.nova-2-sonic-v1:0"));
/// assert_eq!(e.region.as_deref(), Some("eu-north-1"));
/// assert_eq!(bedrock_endpoint("http://127.0.0.1:9000").unwrap().url, "http://127.0.0.1:9000");
/// assert!(bedrock_endpoint("wss://bedrock-runtime.us-east-1.amazonaws.com").is_err());
/// ```
pub fn bedrock_endpoint(endpoint: &str) -> Result<BedrockEndpoint, ModelError> {
    let fail = |why: &str| {
        ModelError::Config(format!(
            "endpoint=<{}> | {why}; Nova Sonic accepts {NOVA_FORMS}",
            shown(endpoint)
        ))
    };
    let url = Url::parse(endpoint.trim()).map_err(|e| fail(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail(&format!(
            "the scheme must be https:// (or http:// for a local server), not {}://",
            url.scheme()
        )));
    }
    check_common(&url, fail)?;
    let path = url.path().trim_end_matches('/');
    let (prefix, model_id) = match path.strip_suffix("/invoke-with-bidirectional-stream") {
        Some(rest) => {
            let Some((prefix, model)) = rest.rsplit_once("/model/") else {
                return Err(fail("the path names no /model/MODEL_ID"));
            };
            if model.is_empty() || model.contains('/') {
                return Err(fail("the path names no /model/MODEL_ID"));
            }
            let model = percent_decode(model)
                .ok_or_else(|| fail("the model id in the path is not valid percent-encoding"))?;
            (prefix.to_owned(), Some(model))
        }
        None if path.contains("/model/") => {
            return Err(fail(
                "a path with /model/ must end with /invoke-with-bidirectional-stream",
            ));
        }
        None => (path.to_owned(), None),
    };
    let mut base = url.clone();
    base.set_path(&prefix);
    let mut text: String = base.into();
    // `Url` writes a bare origin with a trailing `/`; the SDK wants none.
    if prefix.is_empty() {
        if let Some(query_at) = text.find('?') {
            if text[..query_at].ends_with('/') {
                text.remove(query_at - 1);
            }
        } else if text.ends_with('/') {
            text.pop();
        }
    }
    let region = url.host_str().and_then(aws_region);
    Ok(BedrockEndpoint {
        url: text,
        model_id,
        region,
    })
}

/// The region in an AWS Bedrock runtime host name (`bedrock-runtime[-fips].REGION.amazonaws.com[.cn]`).
fn aws_region(host: &str) -> Option<String> {
    let rest = host
        .strip_prefix("bedrock-runtime.")
        .or_else(|| host.strip_prefix("bedrock-runtime-fips."))?;
    let (region, domain) = rest.split_once('.')?;
    (matches!(domain, "amazonaws.com" | "amazonaws.com.cn") && !region.is_empty())
        .then(|| region.to_owned())
}

/// `%XX` sequences decoded (UTF-8); `None` for a malformed sequence.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_forms() {
        let url = |e: &str| openai_url(e, "gpt-realtime").expect("accepted");
        assert_eq!(
            url("wss://api.openai.com/v1/realtime"),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime"
        );
        assert_eq!(
            url("wss://api.openai.com/v1/realtime/"),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime"
        );
        assert_eq!(
            url("ws://127.0.0.1:9/v1/realtime?x=1&model=m2"),
            "ws://127.0.0.1:9/v1/realtime?x=1&model=m2"
        );
        assert_eq!(
            url("wss://r.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=d"),
            "wss://r.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=d&model=gpt-realtime"
        );
        // The model id is percent-encoded in the query.
        assert_eq!(
            openai_url("wss://h", "a b&c").expect("accepted"),
            "wss://h/v1/realtime?model=a+b%26c"
        );
    }

    #[test]
    fn malformed_urls_name_the_accepted_forms() {
        for bad in [
            "",
            "api.openai.com",
            "https://api.openai.com/v1/realtime",
            "wss://",
            "wss://h/v1/realtime#x",
            "wss://user:pw@h/v1/realtime",
            "ftp://h",
        ] {
            let e = openai_url(bad, "m").expect_err("refused").to_string();
            assert!(e.contains("wss://HOST[:PORT]"), "{bad}: {e}");
            assert!(!e.contains("pw"), "{e}");
            let e = gemini_url(bad, "v1beta").expect_err("refused").to_string();
            assert!(
                e.contains("GenerativeService.BidiGenerateContent"),
                "{bad}: {e}"
            );
        }
        let e = openai_url("wss://h/v1/realtime?key=sk-secret#f", "m")
            .expect_err("refused")
            .to_string();
        assert!(!e.contains("sk-secret"), "{e}");
    }

    #[test]
    fn gemini_forms() {
        let v = |ver: &str| {
            format!("/ws/google.ai.generativelanguage.{ver}.GenerativeService.BidiGenerateContent")
        };
        let g = |e: &str| gemini_url(e, "v1alpha").expect("accepted");
        assert_eq!(
            g("ws://127.0.0.1:5/ws"),
            format!("ws://127.0.0.1:5{}", v("v1alpha"))
        );
        assert_eq!(
            g("ws://127.0.0.1:5"),
            format!("ws://127.0.0.1:5{}", v("v1alpha"))
        );
        assert_eq!(
            g("wss://proxy.local/gemini/"),
            format!("wss://proxy.local/gemini{}", v("v1alpha"))
        );
        let full = format!("wss://h:443{}?key=1", v("v1beta"));
        assert_eq!(g(&full), format!("wss://h{}?key=1", v("v1beta")));
        let constrained = "wss://h/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=t";
        assert_eq!(g(constrained), constrained);
        assert_eq!(g("ws://h/ws?x=y"), format!("ws://h{}?x=y", v("v1alpha")));
        for bad in [
            "wss://h/ws/google.ai.generativelanguage.v1beta.GenerativeService.Bogus",
            "wss://h/ws/google.ai.generativelanguage.GenerativeService.BidiGenerateContent",
            "wss://h/ws/GenerativeService.BidiGenerateContent",
        ] {
            assert!(gemini_url(bad, "v1beta").is_err(), "{bad}");
        }
        assert!(gemini_url("wss://h", "v1/../x").is_err());
    }

    #[test]
    fn bedrock_forms() {
        let e =
            bedrock_endpoint("https://bedrock-runtime.us-west-2.amazonaws.com/").expect("accepted");
        assert_eq!(e.url, "https://bedrock-runtime.us-west-2.amazonaws.com");
        assert_eq!(e.region.as_deref(), Some("us-west-2"));
        assert_eq!(e.model_id, None);
        let e = bedrock_endpoint(
            "http://127.0.0.1:4000/model/amazon.nova-2-sonic-v1%3A0/invoke-with-bidirectional-stream",
        )
        .expect("accepted");
        assert_eq!(e.url, "http://127.0.0.1:4000");
        assert_eq!(e.model_id.as_deref(), Some("amazon.nova-2-sonic-v1:0"));
        assert_eq!(e.region, None);
        let e = bedrock_endpoint("https://gw.corp/bedrock/?a=1").expect("accepted");
        assert_eq!(e.url, "https://gw.corp/bedrock?a=1");
        let e = bedrock_endpoint("https://gw.corp?a=1").expect("accepted");
        assert_eq!(e.url, "https://gw.corp?a=1");
        assert_eq!(
            bedrock_endpoint("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com")
                .expect("accepted")
                .region
                .as_deref(),
            Some("us-gov-west-1")
        );
        for bad in [
            "bedrock-runtime.us-east-1.amazonaws.com",
            "wss://h",
            "https://h/model//invoke-with-bidirectional-stream",
            "https://h/model/x/converse",
            "https://h/model/%zz/invoke-with-bidirectional-stream",
            "https://h/invoke-with-bidirectional-stream",
        ] {
            let err = bedrock_endpoint(bad).expect_err("refused").to_string();
            assert!(
                err.contains("invoke-with-bidirectional-stream"),
                "{bad}: {err}"
            );
        }
    }
}
