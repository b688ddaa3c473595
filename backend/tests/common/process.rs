//! The real binary as a child process: a clean environment, a free port, and a server that
//! cannot outlive a failed test.

use std::process::Command;

/// `peerlearn` run in `dir`, with none of the developer's own `PEERLEARN_*` settings.
pub fn peerlearn(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peerlearn"));
    cmd.current_dir(dir).env("PEERLEARN_LOG", "warn");
    for (key, _) in std::env::vars() {
        if key.starts_with("PEERLEARN_") && key != "PEERLEARN_TEST_MODEL" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `peerlearn session create --activity playground` run in `dir`; a test adds what it is about.
pub fn session_create(dir: &std::path::Path) -> Command {
    let mut cmd = peerlearn(dir);
    cmd.args(["session", "create", "--activity", "playground"]);
    cmd
}

/// A server process that must not outlive a failed test.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Asserts that a finished command succeeded; if not, the failure shows its exit status and
/// what it wrote to stderr.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
