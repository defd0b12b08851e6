//! The AWS SDK's HTTP client when a CA file is configured: the SDK's default (rustls with
//! aws-lc-rs, proxies from `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY`) with the file's
//! certificates added to its trust store (the system's store, which honours
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use aws_sdk_bedrockruntime::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use bidi_types::ModelError;

use crate::trust::CaFile;

/// An HTTP client trusting the system's store plus `ca_file`.
pub(super) fn client_trusting(ca_file: &CaFile) -> Result<SharedHttpClient, ModelError> {
    // `CaFile::load` checked the PEM; the SDK parses it again when it connects.
    let trust = TrustStore::default().with_pem_certificate(ca_file.pem().to_vec());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| {
            ModelError::Config(format!(
                "ca_file=<{}> | the AWS client refused the CA file: {e}",
                ca_file.path().display()
            ))
        })?;
    // As the SDK builds its default client (behavior version 2025-08-07 and later), with our
    // TLS context: the proxy settings come from the environment.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}
