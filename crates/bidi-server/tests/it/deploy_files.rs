//! The deployment files in `deploy/` are checked by tools we did not write: the Kubernetes
//! manifest against the API's schemas (`kubernetes-validate --strict`, offline), the
//! Dockerfile by hadolint; and what ties them to the server: the grace period above the
//! drain, readiness on `/healthz`, a non-root user. (nginx's config is run for real in
//! `load_balancer`.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file)
}

/// The folder of the checkers (`BIDI_DEPLOY_TOOLS`, a venv's `bin` made from
/// `deploy/check-requirements.txt`); under `CI=true` it must be set.
fn tools() -> Option<PathBuf> {
    match std::env::var_os("BIDI_DEPLOY_TOOLS") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BIDI_DEPLOY_TOOLS is not set: .ci/run must install deploy/check-requirements.txt"
            )
        }
        _ => {
            eprintln!(
                "skipped: set BIDI_DEPLOY_TOOLS to a venv's bin with deploy/check-requirements.txt"
            );
            None
        }
    }
}

/// Runs `tool` with `args`: (success, stdout and stderr).
fn run(tools: &Path, tool: &str, args: &[&Path]) -> (bool, String) {
    let out = Command::new(tools.join(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The number after `key` on the manifest's first line holding it (`key: N` or `key=N`).
fn number_after(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let rest = l.split_once(key)?.1;
            let digits: String = rest
                .trim_start_matches([':', '=', ' '])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no {key} in the manifest"))
}

#[test]
fn the_kubernetes_manifest_passes_the_api_schemas_and_outlasts_the_drain() {
    let Some(tools) = tools() else { return };
    let manifest = deploy("kubernetes/bidi-server.yaml");
    let (ok, out) = run(
        &tools,
        "kubernetes-validate",
        &[Path::new("--strict"), &manifest],
    );
    assert!(ok, "{out}");
    assert_eq!(out.matches("passed for resource").count(), 3, "{out}");

    // The checker does catch a mistake: a misspelt field fails under --strict.
    let text = std::fs::read_to_string(&manifest).expect("reads");
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replace(
            "terminationGracePeriodSeconds",
            "terminationGracePeriodSecond",
        ),
    )
    .expect("writes");
    let (ok, out) = run(
        &tools,
        "kubernetes-validate",
        &[Path::new("--strict"), &broken],
    );
    assert!(!ok, "a misspelt field passed: {out}");

    // The kubelet's SIGKILL comes after the drain and the close grace (3 s).
    let grace = number_after(&text, "terminationGracePeriodSeconds");
    let drain = number_after(&text, "--drain-timeout");
    assert!(grace > drain + 3, "grace {grace} s, drain {drain} s");
    assert!(text.contains("path: /healthz"), "readiness on /healthz");
    assert!(text.contains("runAsNonRoot: true"));
}

#[test]
fn the_dockerfile_passes_hadolint_and_runs_as_a_non_root_user() {
    let Some(tools) = tools() else { return };
    let dockerfile = deploy("Dockerfile");
    let (ok, out) = run(&tools, "hadolint", &[&dockerfile]);
    assert!(ok, "{out}");
    let text = std::fs::read_to_string(&dockerfile).expect("reads");
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(stages, 2, "a build stage and a run stage");
    let user = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    assert!(
        text.contains("-p bidi-server --bin bidi-server"),
        "bidi-server only"
    );
}
