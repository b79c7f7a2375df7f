//! A real `redis-server` for one test: on a free loopback port, no persistence, stopped on drop.
//!
//! Where `redis-server` is not on `PATH`, tests say so and pass, unless `CI=true`, where a
//! missing server fails them (`.ci/run` installs it).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `redis-server` on `PATH`, if there is one.
fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// The skipping rule: `None` (and a message) when there is no server and this is not CI;
/// under `CI=true` a missing server is a failure, never a skip.
pub fn redis_server_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(path) = find_redis_server() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{test}: `redis-server` is not on PATH and CI=true, so this test must run: \
             install it (`apt-get install -y redis-server`)"
        );
    }
    // Straight to stderr, not `eprintln!`: the harness would hide it on a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: `redis-server` is not on PATH (install it, e.g. `apt-get install -y \
         redis-server`, to run the Redis tests; with CI=true a missing server fails instead)"
    );
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `redis-server`, killed when dropped.
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port, or `None` (skipped) where there is no `redis-server`.
    pub fn start(test: &str) -> Option<Self> {
        let binary = redis_server_or_skip(test)?;
        let mut server = Self {
            binary,
            port: free_port(),
            child: None,
        };
        server.run();
        Some(server)
    }

    fn run(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_command(&["PING"]).as_deref() != Some("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (its memory goes with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it and starts a new one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// One command over a fresh connection; the first line of the reply.
    pub fn command(&self, args: &[&str]) -> String {
        self.try_command(args).expect("redis answers")
    }

    fn try_command(&self, args: &[&str]) -> Option<String> {
        let text = self.raw(args)?;
        // A bulk reply (`$len\r\ndata\r\n`): its first line of data.
        match text.strip_prefix('$') {
            Some(rest) => rest.split("\r\n").nth(1).map(str::to_owned),
            None => text.lines().next().map(str::to_owned),
        }
    }

    /// One command over a fresh connection; the whole reply.
    fn raw(&self, args: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        while !complete(&reply) {
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
        }
        Some(String::from_utf8_lossy(&reply).into_owned())
    }

    /// The names of the keys matching `pattern` (`KEYS`: fine on a test's small database).
    pub fn raw_keys(&self, pattern: &str) -> Vec<String> {
        let reply = self.raw(&["KEYS", pattern]).expect("redis answers");
        // `*N`, then `$len` and the name for each key.
        reply
            .split("\r\n")
            .skip(1)
            .skip(1)
            .step_by(2)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Field `name` of `INFO section` (e.g. `cmdstat_set` of `commandstats`).
    pub fn info_field(&self, section: &str, name: &str) -> Option<String> {
        let prefix = format!("{name}:");
        self.raw(&["INFO", section])?
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
    }
}

/// Whether `reply` holds one whole RESP reply (simple, integer, error or bulk string).
fn complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    let Some(first_end) = text.find("\r\n") else {
        return false;
    };
    match text.as_bytes().first() {
        // An array of bulk strings: its count, then two lines each.
        Some(b'*') => {
            let count: usize = text[1..first_end].parse().unwrap_or(0);
            text.matches("\r\n").count() > 2 * count
        }
        Some(b'$') => {
            let len: i64 = text[1..first_end].parse().unwrap_or(-1);
            len < 0 || text.len() >= first_end + 2 + len as usize + 2
        }
        _ => true,
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
