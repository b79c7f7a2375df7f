//! The quickstart (`examples/quickstart.rs`, the README's first command) run as a program with
//! `--exit`: it walks every grant and refusal and must say every call got what it should.
#![cfg(all(feature = "mock", feature = "axum"))]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The walk takes a few seconds; this allows for a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(180);

/// The first column of the table: every grant, then the refusals.
const CASES: [&str; 13] = [
    "client credentials",
    "authorization code",
    "refresh",
    "implicit",
    "device authorization",
    "token exchange",
    "on behalf of alice",
    "no token",
    "expired",
    "forged (alg none)",
    "partner token as is",
    "issuer down",
    "issuer back",
];

/// Builds the example (a no-op when it is fresh) and returns its executable. `--all-features`,
/// as CI runs the tests, so that nothing is rebuilt there.
fn executable() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--message-format=json", "--all-features"])
        .args(["--example", "quickstart"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build of the quickstart failed"
    );
    output
        .stdout
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .find(|message| message["target"]["name"] == "quickstart")
        .and_then(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo built an executable for the quickstart")
}

/// A child process, killed if still running when dropped (a failed assertion, a timeout).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a pipe to its end on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

#[test]
fn the_quickstart_walks_every_grant_and_every_call_gets_what_it_should() {
    let mut running = Running(
        Command::new(executable())
            .arg("--exit")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the quickstart"),
    );
    let stdout = read_all(running.0.stdout.take().expect("piped stdout"));
    let stderr = read_all(running.0.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the quickstart did not exit within {TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (
        stdout.join().expect("stdout read"),
        stderr.join().expect("stderr read"),
    );
    let output = format!("{stdout}\n--- stderr ---\n{stderr}");

    assert!(status.success(), "exit status {status}:\n{output}");
    for case in CASES {
        assert!(
            stdout.lines().any(|line| line
                .strip_prefix(case)
                .is_some_and(|rest| rest.starts_with(' '))),
            "no row for `{case}`:\n{output}"
        );
    }
    assert!(!stdout.contains('✗'), "a call did not hold:\n{output}");
    assert!(
        stdout.matches('✓').count() >= CASES.len(),
        "too few calls held:\n{output}"
    );
    assert!(stdout.contains("every call got what it should"), "{output}");
    assert!(
        !stdout.contains("keep running"),
        "--exit does not serve on:\n{output}"
    );
}
