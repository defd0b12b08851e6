//! The simulators' TLS: [`ThrowawayCa`], a certificate authority made up for one test and a
//! server certificate for `localhost` it signed, so clients can be tested with and without
//! trusting it; [`ServerCert`], a server certificate, made up or read from PEM files.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

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
    cert: ServerCert,
}

/// Why a [`ThrowawayCa`] or a [`ServerCert`] could not be made.
#[derive(Debug, thiserror::Error)]
#[error("tls | {0}")]
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
        let chain_pem = format!("{}{}", leaf.pem(), ca.pem());
        let cert = ServerCert::new(vec![leaf.der().clone(), ca.der().clone()], key, chain_pem)?;
        Ok(Self {
            ca_pem: ca.pem(),
            cert,
        })
    }

    /// The CA's certificate, PEM: what a client must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The `localhost` certificate the CA signed.
    pub fn server_cert(&self) -> &ServerCert {
        &self.cert
    }

    /// A server config presenting the `localhost` certificate (no ALPN: for `wss://`).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.cert.server_config()
    }

    /// The same certificate, offering `h2` and `http/1.1` by ALPN (the Bedrock server's
    /// HTTPS).
    pub fn http_server_config(&self) -> Arc<rustls::ServerConfig> {
        self.cert.http_server_config()
    }
}

/// A server's certificate chain and private key, ready for the simulators' `tls` options:
/// the one a [`ThrowawayCa`] signed, or one read from PEM files (`bidi-sim --tls-cert FILE
/// --tls-key FILE`).
///
/// ```
/// let ca = bidi_sim::tls::ThrowawayCa::new().unwrap();
/// let cert = ca.server_cert();
/// assert!(cert.http_server_config().alpn_protocols.contains(&b"h2".to_vec()));
/// assert!(cert.server_config().alpn_protocols.is_empty());
/// ```
#[derive(Clone)]
pub struct ServerCert {
    server: Arc<rustls::ServerConfig>,
    chain_pem: String,
}

impl ServerCert {
    /// The certificate `chain` (the server's first), its `key`, and the chain as PEM.
    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        chain_pem: String,
    ) -> Result<Self, TlsSetupError> {
        let fail = |e: &dyn std::fmt::Display| TlsSetupError(e.to_string());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| fail(&e))?;
        Ok(Self {
            server: Arc::new(server),
            chain_pem,
        })
    }

    /// The chain in `cert` (PEM, the server's certificate first) and the private key in
    /// `key` (PEM: PKCS#8, PKCS#1 or SEC1). A file that cannot be read, holds no certificate
    /// or no key, or a key that does not match the certificate, is an error naming it.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsSetupError> {
        let chain_pem = std::fs::read_to_string(cert)
            .map_err(|e| TlsSetupError(format!("{}: {e}", cert.display())))?;
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError(format!("{}: {e}", cert.display())))?;
        if chain.is_empty() {
            return Err(TlsSetupError(format!(
                "{}: no certificate (PEM \"BEGIN CERTIFICATE\")",
                cert.display()
            )));
        }
        let private_key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| TlsSetupError(format!("{}: {e}", key.display())))?;
        Self::new(chain, private_key, chain_pem).map_err(|TlsSetupError(e)| {
            TlsSetupError(format!("{} with {}: {e}", cert.display(), key.display()))
        })
    }

    /// A server config presenting the certificate (no ALPN: for `wss://`).
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

    /// The chain, PEM: for a client that trusts the certificate itself.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ThrowawayCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayCa").finish_non_exhaustive()
    }
}
