//! [`ProxySettings`]: which HTTP proxy (if any) a WebSocket connection tunnels through, read
//! from the environment as curl and the AWS SDK read it; and the `CONNECT` tunnel itself.
//!
//! - `wss://` uses `https_proxy` / `HTTPS_PROXY`, else `all_proxy` / `ALL_PROXY`;
//! - `ws://` uses `http_proxy` / `HTTP_PROXY`, else `all_proxy` / `ALL_PROXY`;
//! - `no_proxy` / `NO_PROXY` lists hosts reached directly: comma- or space-separated, each a
//!   host name (matching itself and its subdomains; a leading `.` or `*.` is ignored), an
//!   IP address or CIDR block, optionally with `:port`; `*` alone disables the proxy.
//!
//! The lowercase name wins when both are set; an empty value counts as unset. A proxy is an
//! `http://` URL (the scheme may be left out), with optional `user:password@` (sent as
//! `Proxy-Authorization: Basic`, never logged); the port defaults to 80.
//!
//! As with curl, loopback hosts (`localhost`, `127.0.0.1`) go through the proxy too unless
//! `NO_PROXY` names them.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::WsError;

/// The longest proxy response header read, in bytes.
const MAX_RESPONSE_HEADER: usize = 8 * 1024;

/// An HTTP proxy: where it listens and the credentials to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl ProxyUrl {
    /// Parses `http://[user[:password]@]host[:port][/]` (the scheme may be left out;
    /// percent-escapes in the credentials are decoded).
    ///
    /// ```
    /// use bidi_model::ws::ProxyUrl;
    /// let proxy = ProxyUrl::parse("http://me:s%40cret@proxy.corp:3128").unwrap();
    /// assert_eq!((proxy.host(), proxy.port()), ("proxy.corp", 3128));
    /// assert_eq!(proxy.to_string(), "http://proxy.corp:3128"); // no credentials shown
    /// assert!(ProxyUrl::parse("socks5://proxy:1080").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Self, WsError> {
        let invalid = |reason: &str| WsError::Proxy {
            proxy: redact(url),
            reason: reason.to_owned(),
        };
        let rest = match url.split_once("://") {
            None => url,
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => {
                return Err(invalid(
                    "only http:// proxies (HTTP CONNECT) are supported; set HTTPS_PROXY to an http:// URL",
                ));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| invalid("bad host or port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let credentials = userinfo.map(|info| {
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            (percent_decode(user), percent_decode(password))
        });
        Ok(Self {
            host: host.to_owned(),
            port: port.unwrap_or(80),
            credentials,
        })
    }

    /// The proxy's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

/// Which proxy each kind of connection uses, and which hosts bypass it.
///
/// ```
/// use bidi_model::ws::ProxySettings;
///
/// let env = |name: &str| match name {
///     "HTTPS_PROXY" => Some("http://127.0.0.1:3128".to_owned()),
///     "NO_PROXY" => Some("internal.corp, 10.0.0.0/8".to_owned()),
///     _ => None,
/// };
/// let settings = ProxySettings::from_lookup(env).unwrap();
/// assert!(settings.proxy_for(true, "api.openai.com", 443).is_some());
/// assert!(settings.proxy_for(true, "eu.internal.corp", 443).is_none());
/// assert!(settings.proxy_for(true, "10.1.2.3", 443).is_none());
/// assert!(settings.proxy_for(false, "api.openai.com", 80).is_none()); // no HTTP_PROXY
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    no_proxy: Vec<NoProxyRule>,
}

impl ProxySettings {
    /// No proxy for anything.
    pub fn none() -> Self {
        Self::default()
    }

    /// The settings of this process's environment.
    pub fn from_env() -> Result<Self, WsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings an environment gives, `lookup` returning a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WsError> {
        let var = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| lookup(n))
                .find(|v| !v.trim().is_empty())
        };
        let all = var(&["all_proxy", "ALL_PROXY"]);
        let parse = |v: Option<String>| v.map(|v| ProxyUrl::parse(v.trim())).transpose();
        let https = parse(var(&["https_proxy", "HTTPS_PROXY"]).or_else(|| all.clone()))?;
        let http = parse(var(&["http_proxy", "HTTP_PROXY"]).or(all))?;
        let no_proxy = var(&["no_proxy", "NO_PROXY"])
            .map(|v| parse_no_proxy(&v))
            .unwrap_or_default();
        Ok(Self {
            https,
            http,
            no_proxy,
        })
    }

    /// The proxy for a connection to `host:port` (`secure` for `wss://`), `None` to connect
    /// directly. `host` may be a bracketed IPv6 address.
    pub fn proxy_for(&self, secure: bool, host: &str, port: u16) -> Option<&ProxyUrl> {
        let proxy = if secure { &self.https } else { &self.http };
        let proxy = proxy.as_ref()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if self.no_proxy.iter().any(|rule| rule.matches(host, port)) {
            return None;
        }
        Some(proxy)
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyRule {
    /// `*`: everything.
    All,
    /// A host name and its subdomains, lowercase.
    Domain { name: String, port: Option<u16> },
    /// An address block.
    Block {
        net: IpAddr,
        bits: u8,
        port: Option<u16>,
    },
}

impl NoProxyRule {
    fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            Self::All => true,
            Self::Domain { name, port: p } => {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                p.is_none_or(|p| p == port)
                    && (host == *name
                        || host
                            .strip_suffix(name.as_str())
                            .is_some_and(|prefix| prefix.ends_with('.')))
            }
            Self::Block { net, bits, port: p } => {
                p.is_none_or(|p| p == port)
                    && host
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| in_block(ip, *net, *bits))
            }
        }
    }
}

fn parse_no_proxy(value: &str) -> Vec<NoProxyRule> {
    value
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|entry| {
            if entry == "*" {
                return Some(NoProxyRule::All);
            }
            if let Some((addr, bits)) = entry.split_once('/') {
                let net: IpAddr = addr.trim_matches(['[', ']']).parse().ok()?;
                let bits: u8 = bits.parse().ok()?;
                return Some(NoProxyRule::Block {
                    net,
                    bits,
                    port: None,
                });
            }
            let (host, port) = split_host_port(entry)?;
            if let Ok(ip) = host.parse::<IpAddr>() {
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                return Some(NoProxyRule::Block {
                    net: ip,
                    bits,
                    port,
                });
            }
            let name = host
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            (!name.is_empty()).then_some(NoProxyRule::Domain { name, port })
        })
        .collect()
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let bits = u32::from(bits).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (ip >> shift) == (net >> shift)
}

/// Splits `host[:port]` or `[v6][:port]`; the host keeps no brackets. `None` for a bad port.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        // More than one colon: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((s, None)),
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((s, None)),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The proxy URL as shown in errors: credentials removed.
fn redact(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…@{after}"),
            None => format!("…@{after}"),
        },
        None => url.to_owned(),
    }
}

/// Opens a TCP connection to `proxy` and asks it (`CONNECT`) for a tunnel to `host:port`;
/// returns the stream once the proxy answered 2xx.
pub(super) async fn tunnel(proxy: &ProxyUrl, host: &str, port: u16) -> Result<TcpStream, WsError> {
    let failed = |reason: String| WsError::Proxy {
        proxy: proxy.to_string(),
        reason,
    };
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| failed(format!("cannot reach the proxy: {e}")))?;
    stream.set_nodelay(true).ok();
    stream
        .write_all(connect_request(proxy, host, port).as_bytes())
        .await
        .map_err(|e| failed(format!("cannot send CONNECT: {e}")))?;
    let head = read_response_head(&mut stream)
        .await
        .map_err(|e| failed(format!("no answer to CONNECT: {e}")))?;
    match response_status(&head) {
        Some(status) if (200..300).contains(&status) => {
            tracing::debug!("proxy=<{proxy}>, target=<{host}:{port}> | tunnel open");
            Ok(stream)
        }
        Some(407) => Err(failed(
            "the proxy requires authentication (HTTP 407): put user:password@ in the proxy URL"
                .to_owned(),
        )),
        Some(status) => Err(failed(format!(
            "the proxy refused CONNECT {host}:{port} (HTTP {status})"
        ))),
        None => Err(failed("the proxy's answer is not HTTP".to_owned())),
    }
}

/// The `CONNECT` request for `host:port` (an IPv6 host in brackets).
fn connect_request(proxy: &ProxyUrl, host: &str, port: u16) -> String {
    let target = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((user, password)) = &proxy.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Reads up to the blank line ending the response head, byte by byte so nothing of the
/// tunnelled stream is consumed.
async fn read_response_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_RESPONSE_HEADER {
            return Err(std::io::Error::other("response header too long"));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(head)
}

/// The status code of an `HTTP/1.x NNN ...` status line.
fn response_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> ProxySettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxySettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .expect("valid")
    }

    #[test]
    fn https_proxy_then_all_proxy() {
        let s = settings(&[
            ("ALL_PROXY", "http://all:1"),
            ("HTTPS_PROXY", "http://tls:2"),
        ]);
        assert_eq!(s.proxy_for(true, "a.com", 443).map(ProxyUrl::port), Some(2));
        assert_eq!(s.proxy_for(false, "a.com", 80).map(ProxyUrl::port), Some(1));
        let s = settings(&[("all_proxy", "all:3")]);
        assert_eq!(s.proxy_for(true, "a.com", 443).map(ProxyUrl::port), Some(3));
    }

    #[test]
    fn lowercase_wins_and_empty_is_unset() {
        let s = settings(&[
            ("https_proxy", "http://low:1"),
            ("HTTPS_PROXY", "http://up:2"),
        ]);
        assert_eq!(
            s.proxy_for(true, "a.com", 443).map(ProxyUrl::host),
            Some("low")
        );
        let s = settings(&[("https_proxy", " "), ("HTTPS_PROXY", "http://up:2")]);
        assert_eq!(
            s.proxy_for(true, "a.com", 443).map(ProxyUrl::host),
            Some("up")
        );
        assert_eq!(settings(&[]), ProxySettings::none());
    }

    #[test]
    fn loopback_is_proxied_unless_excluded() {
        let s = settings(&[("HTTPS_PROXY", "http://p:1")]);
        assert!(s.proxy_for(true, "127.0.0.1", 443).is_some());
        assert!(s.proxy_for(true, "localhost", 443).is_some());
        let s = settings(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("NO_PROXY", "localhost,127.0.0.1,::1"),
        ]);
        assert!(s.proxy_for(true, "127.0.0.1", 443).is_none());
        assert!(s.proxy_for(true, "localhost", 443).is_none());
        assert!(s.proxy_for(true, "[::1]", 443).is_none());
    }

    #[test]
    fn no_proxy_domains_ports_and_blocks() {
        let s = settings(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "no_proxy",
                ".corp.example *.lan, api.test:8443 192.168.0.0/16 fd00::/8",
            ),
        ]);
        assert!(s.proxy_for(true, "corp.example", 443).is_none());
        assert!(s.proxy_for(true, "a.b.CORP.example", 443).is_none());
        assert!(s.proxy_for(true, "notcorp.example", 443).is_some());
        assert!(s.proxy_for(true, "x.lan", 443).is_none());
        assert!(s.proxy_for(true, "api.test", 8443).is_none());
        assert!(s.proxy_for(true, "api.test", 443).is_some());
        assert!(s.proxy_for(true, "192.168.4.5", 443).is_none());
        assert!(s.proxy_for(true, "192.169.4.5", 443).is_some());
        assert!(s.proxy_for(true, "[fd12::1]", 443).is_none());
        let s = settings(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")]);
        assert!(s.proxy_for(true, "anything", 443).is_none());
    }

    #[test]
    fn proxy_urls() {
        let p = ProxyUrl::parse("http://u%3Ax:p%40ss@[::1]:8080/").expect("valid");
        assert_eq!((p.host(), p.port()), ("::1", 8080));
        assert_eq!(p.credentials, Some(("u:x".to_owned(), "p@ss".to_owned())));
        assert!(!format!("{p:?}").contains("p@ss"));
        assert_eq!(ProxyUrl::parse("proxy").expect("valid").port(), 80);
        for bad in [
            "https://p:1",
            "socks5h://p:1",
            "http://p:notaport",
            "http://:1",
        ] {
            let e = ProxyUrl::parse(bad).expect_err("invalid");
            assert!(matches!(e, WsError::Proxy { .. }), "{bad}: {e}");
        }
        let e = ProxyUrl::parse("socks5://user:secret@p:1").expect_err("invalid");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(ProxySettings::from_lookup(|_| Some("ftp://x".into())).is_err());
    }

    #[test]
    fn connect_request_carries_basic_auth_only_with_credentials() {
        let p = ProxyUrl::parse("http://alice:wonder@p:1").expect("valid");
        let req = connect_request(&p, "api.openai.com", 443);
        assert!(
            req.starts_with("CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n")
        );
        // base64("alice:wonder")
        assert!(req.contains("Proxy-Authorization: Basic YWxpY2U6d29uZGVy\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
        let req = connect_request(&ProxyUrl::parse("p:1").expect("valid"), "::1", 443);
        assert!(req.starts_with("CONNECT [::1]:443 HTTP/1.1"));
        assert!(!req.contains("Proxy-Authorization"));
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            response_status(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(response_status(b"HTTP/1.0 407 Auth\r\n\r\n"), Some(407));
        assert_eq!(response_status(b"SSH-2.0-OpenSSH\r\n\r\n"), None);
    }
}
