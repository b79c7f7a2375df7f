//! The `tokengate-mock` binary run as the program it is: started on a free port and read up
//! to its `listening on` line, or run to its end; temporary config files.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The running binary; killed (by its own pid) and reaped when dropped.
pub struct Server {
    child: Child,
    /// `http://ADDR`, from the `listening on` line.
    pub base: String,
    /// Standard output up to the `listening on` line.
    pub output: Vec<String>,
    errors: mpsc::Receiver<String>,
}

impl Server {
    /// The process id, to read its memory in `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to standard error so far.
    pub fn stderr(&self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.errors.recv_timeout(Duration::from_millis(200)) {
            out.push(line);
        }
        out
    }
}

/// The lines of a pipe, read by a thread, as they come.
fn lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate-mock"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts the binary and reads its output up to `listening on http://ADDR`.
pub fn start_binary(args: &[&str]) -> Server {
    let mut child = command(args).spawn().expect("the binary starts");
    let received = lines(child.stdout.take().expect("piped stdout"));
    let errors = lines(child.stderr.take().expect("piped stderr"));
    let mut server = Server {
        child,
        base: String::new(),
        output: Vec::new(),
        errors,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no `listening on` line ({e}): {:?}", server.output));
        if let Some(url) = line.strip_prefix("listening on ") {
            server.base = url.to_owned();
            server.output.push(line);
            return server;
        }
        server.output.push(line);
    }
}

/// Runs the binary to its end (it must stop by itself) and returns its status and stderr.
pub fn run_to_end(args: &[&str]) -> (ExitStatus, String) {
    let mut child = command(args).spawn().expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    (status, stderr)
}

/// A file in the temp directory, removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn new(name: &str, contents: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "tokengate-mock-{}-{nanos}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("a temp file");
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
