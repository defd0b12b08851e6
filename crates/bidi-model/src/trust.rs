//! Which certificate authorities the providers' TLS connections trust: one home for every
//! client (the WebSocket providers and Nova Sonic's AWS SDK client).
//!
//! A server certificate is trusted when it chains to any of:
//!
//! - the roots bundled with bidi (Mozilla's, from `webpki-roots`);
//! - the operating system's store, read once per process by `rustls-native-certs`; as
//!   OpenSSL-based tools do, `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (a
//!   `:`-separated list of directories of PEM files; any file name, `c_rehash` links are
//!   read once) replace the system's locations when set;
//! - an explicit CA bundle, [`CaFile`] (the providers' `ca_file` option, the quickstart's
//!   `--ca-file`).
//!
//! Certificates of the system store that cannot be parsed are logged at debug and skipped;
//! a bad explicit CA file is an error ([`TrustError`]).
//!
//! A connection refused because the certificate chains to none of them reports
//! [`UNTRUSTED_HINT`] (see [`is_untrusted`]).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// What a connection refused for an unknown certificate authority reports: the cause and
/// the fix.
pub const UNTRUSTED_HINT: &str =
    "certificate not trusted by the system or bundled roots: set SSL_CERT_FILE or --ca-file";

/// Why the trusted roots could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The CA file could not be read.
    #[error("ca_file=<{}> | cannot read the CA file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// The CA file holds no PEM certificate.
    #[error(
        "ca_file=<{}> | no certificate in the CA file: expected PEM blocks (-----BEGIN CERTIFICATE-----)",
        path.display()
    )]
    NoCertificates {
        /// The file.
        path: PathBuf,
    },

    /// A PEM block of the CA file is malformed.
    #[error("ca_file=<{}> | malformed PEM in the CA file: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },

    /// A certificate of the CA file cannot serve as a trust anchor.
    #[error("ca_file=<{}> | certificate {index} is not a usable CA certificate: {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// The certificate's position in the file, from 1.
        index: usize,
        /// What rustls said.
        reason: String,
    },

    /// rustls refused the TLS settings.
    #[error("tls | {0}")]
    Tls(String),
}

/// An explicit CA bundle: a PEM file of one or more certificates, read and checked once.
///
/// ```
/// use bidi_model::trust::{CaFile, TrustError};
///
/// let missing = CaFile::load("/nonexistent/ca.pem").unwrap_err();
/// assert!(matches!(missing, TrustError::Read { .. }));
/// assert!(missing.to_string().contains("/nonexistent/ca.pem"));
/// ```
#[derive(Clone)]
pub struct CaFile {
    path: PathBuf,
    pem: Vec<u8>,
    certs: Vec<CertificateDer<'static>>,
}

impl CaFile {
    /// Reads `path` and parses its certificates; fails when the file cannot be read, is
    /// malformed or holds none.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TrustError> {
        let path = path.as_ref().to_owned();
        let pem = std::fs::read(&path).map_err(|source| TrustError::Read {
            path: path.clone(),
            source,
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrustError::Malformed {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TrustError::NoCertificates { path });
        }
        // Each must be usable as a trust anchor; checked here so every client agrees.
        for (i, cert) in certs.iter().enumerate() {
            let mut probe = rustls::RootCertStore::empty();
            probe.add(cert.clone()).map_err(|e| TrustError::Unusable {
                path: path.clone(),
                index: i + 1,
                reason: e.to_string(),
            })?;
        }
        Ok(Self { path, pem, certs })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, DER-encoded, in file order.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// The file's bytes (PEM), for clients that take PEM.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaFile")
            .field("path", &self.path)
            .field("certificates", &self.certs.len())
            .finish()
    }
}

/// The operating system's roots (or those of `SSL_CERT_FILE` / `SSL_CERT_DIR`), loaded once
/// per process; unreadable entries are logged at debug and skipped.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::debug!("error=<{error}> | skipped part of the system certificate store");
        }
        tracing::debug!(
            "certificates=<{}> | loaded the system certificate store",
            loaded.certs.len()
        );
        loaded.certs
    })
}

/// The trusted roots: bundled, the system's, and `ca_file`'s.
///
/// ```
/// let roots = bidi_model::trust::root_store(None);
/// assert!(roots.len() >= webpki_roots::TLS_SERVER_ROOTS.len());
/// ```
pub fn root_store(ca_file: Option<&CaFile>) -> rustls::RootCertStore {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let (_, skipped) = roots.add_parsable_certificates(native_roots().iter().cloned());
    if skipped > 0 {
        tracing::debug!("skipped=<{skipped}> | system certificates rustls cannot use");
    }
    if let Some(file) = ca_file {
        // Checked usable by `CaFile::load`.
        roots.add_parsable_certificates(file.certs.iter().cloned());
    }
    roots
}

/// A rustls client config (aws-lc-rs, TLS 1.2 and 1.3, no client certificate) trusting
/// [`root_store`]`(ca_file)`. Without a CA file it is built once per process.
///
/// ```
/// let tls = bidi_model::trust::client_config(None).unwrap();
/// assert!(tls.alpn_protocols.is_empty());
/// ```
pub fn client_config(ca_file: Option<&CaFile>) -> Result<Arc<rustls::ClientConfig>, TrustError> {
    static DEFAULT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if ca_file.is_none()
        && let Some(config) = DEFAULT.get()
    {
        return Ok(Arc::clone(config));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TrustError::Tls(e.to_string()))?
        .with_root_certificates(root_store(ca_file))
        .with_no_client_auth();
    let config = Arc::new(config);
    Ok(match ca_file {
        Some(_) => config,
        None => Arc::clone(DEFAULT.get_or_init(|| config)),
    })
}

/// Whether `error`, or an error it wraps, is rustls refusing the peer's certificate because
/// it chains to no trusted root (`UnknownIssuer`). Looks inside `std::io::Error`s, where TLS
/// streams carry rustls's errors.
///
/// ```
/// use rustls::{CertificateError, Error};
/// let refused = std::io::Error::other(Error::InvalidCertificate(CertificateError::UnknownIssuer));
/// assert!(bidi_model::trust::is_untrusted(&refused));
/// assert!(!bidi_model::trust::is_untrusted(&std::io::Error::other("reset")));
/// ```
pub fn is_untrusted(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) =
            e.downcast_ref::<rustls::Error>()
        {
            return true;
        }
        // `io::Error::source` skips the error it wraps; look at that one directly.
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
            && is_untrusted(inner)
        {
            return true;
        }
        next = e.source();
    }
    false
}
