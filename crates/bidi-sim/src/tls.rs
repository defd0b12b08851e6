//! [`ThrowawayCa`]: a certificate authority made up for one test, and a server certificate
//! for `localhost` it signed, so clients can be tested with and without trusting it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A new certificate authority (in memory only) and a `localhost` / `127.0.0.1` server
/// certificate it signed.
///
/// ```
/// let ca = bidi_sim::tls::ThrowawayCa::new().unwrap();
/// assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// let _server = ca.server_config(); // give it to a simulator's `tls` option
/// ```
#[derive(Clone)]
pub struct ThrowawayCa {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// Why a [`ThrowawayCa`] could not be made.
#[derive(Debug, thiserror::Error)]
#[error("throwaway CA | {0}")]
pub struct TlsSetupError(String);

impl ThrowawayCa {
    /// Makes the CA and the server certificate.
    pub fn new() -> Result<Self, TlsSetupError> {
        let fail = |e: &dyn std::fmt::Display| TlsSetupError(e.to_string());
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
        // A name of its own: two throwaway CAs must not pass for each other.
        static MADE: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "bidi throwaway test CA {}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        ca_params.distinguished_name.push(DnType::CommonName, name);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(|e| fail(&e))?;

        let leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(|e| fail(&e))?;
        let leaf_key = KeyPair::generate().map_err(|e| fail(&e))?;
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca)
            .map_err(|e| fail(&e))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(&e))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .map_err(|e| fail(&e))?;
        Ok(Self {
            ca_pem: ca.pem(),
            server: Arc::new(server),
        })
    }

    /// The CA's certificate, PEM: what a client must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server config presenting the `localhost` certificate (no ALPN: for `wss://`).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.server)
    }

    /// The same certificate, offering `h2` and `http/1.1` by ALPN (the Bedrock server's
    /// HTTPS).
    pub fn http_server_config(&self) -> Arc<rustls::ServerConfig> {
        let mut config = (*self.server).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl std::fmt::Debug for ThrowawayCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayCa").finish_non_exhaustive()
    }
}
