//! Rejected credentials through the quickstart binary: each provider's simulator accepts
//! only its right credential; a wrong one in the environment is one line on stderr and exit
//! 3, with no secret anywhere, and the right one completes a turn.

use crate::support;

use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use support::{
    assert_calculator_turn, assert_ok, calculator_script, events, finals, of_type, run_with_env,
    text,
};

const RIGHT_KEY: &str = "sk-right-key-0123456789";
const WRONG_KEY: &str = "sk-wrong-secret-9876543210";
const RIGHT_AWS_KEY_ID: &str = "AKIDQUICKSTARTRIGHT";

/// One provider's run: its name, its endpoint, the environment holding the credentials and
/// the variable a refusal names.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    &'static str,
);

/// The three simulators, each accepting only its right credential.
struct Guarded {
    openai: bidi_sim::openai::OpenAiSimHandle,
    gemini: bidi_sim::gemini::GeminiSimHandle,
    bedrock: BedrockSim,
}

impl Guarded {
    async fn start() -> Self {
        let openai = OpenAiSim::start_with(
            calculator_script(),
            OpenAiSimOptions {
                require_key: Some(RIGHT_KEY.into()),
                ..OpenAiSimOptions::default()
            },
        )
        .await
        .expect("openai sim");
        let gemini = GeminiSim::start_with(
            calculator_script(),
            GeminiSimOptions {
                require_key: Some(RIGHT_KEY.into()),
                ..GeminiSimOptions::default()
            },
        )
        .await
        .expect("gemini sim");
        let bedrock = BedrockSim::start(calculator_script())
            .await
            .expect("bedrock sim");
        bedrock.require_access_key_id(Some(RIGHT_AWS_KEY_ID.into()));
        Self {
            openai,
            gemini,
            bedrock,
        }
    }

    /// Per provider: its endpoint, the environment holding `key` (for Bedrock the access
    /// key id `aws_key_id` with `key` as the secret), and the variable a refusal names.
    fn cases(&self, key: &str, aws_key_id: &str) -> Vec<Case> {
        // The AWS chain reads only the environment: no profile files, no instance metadata.
        let aws = vec![
            ("AWS_ACCESS_KEY_ID", aws_key_id.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", key.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            (
                "AWS_CONFIG_FILE",
                "/nonexistent/bidi-test-aws-config".to_owned(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/bidi-test-aws-credentials".to_owned(),
            ),
        ];
        vec![
            (
                "openai",
                self.openai.url(),
                vec![("OPENAI_API_KEY", key.to_owned())],
                "OPENAI_API_KEY",
            ),
            (
                "gemini",
                self.gemini.base_url(),
                vec![("GEMINI_API_KEY", key.to_owned())],
                "GEMINI_API_KEY",
            ),
            (
                "nova-sonic",
                self.bedrock.endpoint(),
                aws,
                "AWS_ACCESS_KEY_ID",
            ),
        ]
    }

    async fn shutdown(self) {
        self.openai.shutdown().await;
        self.gemini.shutdown().await;
        self.bedrock.shutdown().await;
    }
}

fn args(provider: &str, endpoint: &str) -> Vec<String> {
    [
        "--provider",
        provider,
        "--endpoint",
        endpoint,
        "--text",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_are_one_line_on_stderr_and_exit_3() {
    let sims = Guarded::start().await;
    for (provider, endpoint, env, variable) in sims.cases(WRONG_KEY, "AKIDQUICKSTARTWRONG") {
        let output = run_with_env(args(provider, &endpoint), "What is 12 times 7?\n", env).await;
        let stderr = text(&output.stderr);
        let stdout = text(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{provider}: stderr: {stderr}\nstdout: {stdout}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{provider}: one line: {stderr}");
        let expected = format!("error: {provider} rejected the credentials at {endpoint}: check ");
        assert!(lines[0].starts_with(&expected), "{provider}: {stderr}");
        assert!(lines[0].contains(variable), "{provider}: {stderr}");
        assert!(!stderr.contains("panicked"), "{provider}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{provider}: {stderr}");
        for secret in [WRONG_KEY, RIGHT_KEY] {
            assert!(
                !stderr.contains(secret),
                "{provider}: secret on stderr: {stderr}"
            );
            assert!(
                !stdout.contains(secret),
                "{provider}: secret on stdout: {stdout}"
            );
        }
        // Whatever reached stdout is JSON events (Bedrock's refusal arrives as the error of
        // the open stream, which the agent yields as one `bidi_error`); no conversation
        // took place.
        let events = events(&output);
        assert!(finals(&events, "assistant").is_empty(), "{stdout}");
        assert!(
            of_type(&events, "bidi_error").len() <= 1,
            "{provider}: the refusal is reported once: {stdout}"
        );
    }
    sims.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_credentials_from_the_environment_reach_the_endpoint() {
    let sims = Guarded::start().await;
    for (provider, endpoint, env, _) in sims.cases(RIGHT_KEY, RIGHT_AWS_KEY_ID) {
        let output = run_with_env(args(provider, &endpoint), "What is 12 times 7?\n", env).await;
        assert_ok(&output);
        assert_calculator_turn(&events(&output));
    }
    sims.shutdown().await;
}
