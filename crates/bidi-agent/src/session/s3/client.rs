//! [`S3ClientOptions`]: an S3 client from the usual AWS chain, with an endpoint for
//! S3-compatible servers.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{AppName, Region};

/// How the S3 client of an [`S3SessionManager`](super::S3SessionManager) is made.
///
/// Credentials come from the usual AWS chain (environment, profile, SSO, web identity,
/// container and instance metadata), the region from `region`, else the chain, else
/// `us-east-1` (as boto3 does for S3). Retries follow the SDK's standard policy
/// (`max_attempts`, default 3, with exponential backoff); each attempt may take
/// `attempt_timeout` (default 10 s).
///
/// ```
/// use std::time::Duration;
/// use bidi_agent::session::S3ClientOptions;
///
/// // MinIO, moto, LocalStack, Ceph...: an endpoint and path-style addressing.
/// let options = S3ClientOptions::new()
///     .endpoint_url("http://127.0.0.1:9000")
///     .force_path_style(true)
///     .max_attempts(2)
///     .attempt_timeout(Duration::from_secs(5));
/// assert_eq!(options.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct S3ClientOptions {
    /// Talk to this endpoint instead of AWS's (an S3-compatible server).
    pub endpoint_url: Option<String>,
    /// Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key`.
    pub force_path_style: bool,
    /// The region (default: the chain's, else `us-east-1`).
    pub region: Option<String>,
    /// Attempts per request, the first included (default: the SDK's, 3).
    pub max_attempts: Option<u32>,
    /// How long one attempt may take (default 10 s).
    pub attempt_timeout: Option<Duration>,
}

impl S3ClientOptions {
    /// The defaults: AWS's endpoint, virtual-hosted addressing, the chain's region.
    pub fn new() -> Self {
        Self::default()
    }

    /// Talk to `url` (an S3-compatible server).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Path-style addressing (`endpoint/bucket/key`).
    pub fn force_path_style(mut self, yes: bool) -> Self {
        self.force_path_style = yes;
        self
    }

    /// This region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// At most `n` attempts per request (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n.max(1));
        self
    }

    /// Each attempt may take `timeout`.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The client: configuration from the environment (the usual AWS chain) with these
    /// options on top.
    pub async fn client(&self) -> Client {
        let region = RegionProviderChain::first_try(self.region.clone().map(Region::new))
            .or_default_provider()
            .or_else(Region::from_static("us-east-1"));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
        if let Ok(name) = AppName::new("bidi") {
            loader = loader.app_name(name);
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(self.force_path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_millis(3_100))
                    .operation_attempt_timeout(
                        self.attempt_timeout.unwrap_or(Duration::from_secs(10)),
                    )
                    .build(),
            );
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if let Some(n) = self.max_attempts {
            config = config.retry_config(RetryConfig::standard().with_max_attempts(n));
        }
        Client::from_conf(config.build())
    }
}
