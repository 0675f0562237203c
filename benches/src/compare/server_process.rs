//! The server as a child process of the driver: `<exe> serve --watch-stdin [--threads N]`,
//! its address line read from its stdout, its connection counts asked for over its stdin.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::server_info::{ConnectionCounts, ServerInfo};
use crate::BoxError;

/// A running server process; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    info: ServerInfo,
}

impl ServerProcess {
    /// Starts `exe serve --watch-stdin --threads <threads>` and waits for its address line.
    pub fn spawn(exe: &Path, threads: usize) -> Result<ServerProcess, BoxError> {
        let mut child = Command::new(exe)
            .args(["serve", "--watch-stdin", "--threads", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("server stdin not piped")?;
        let stdout = child.stdout.take().ok_or("server stdout not piped")?;
        let mut stdout = BufReader::new(stdout);
        let info = ServerInfo::parse(&read_line(&mut stdout)?)?;
        Ok(ServerProcess {
            child,
            stdin,
            stdout,
            info,
        })
    }

    /// The server's addresses and CA.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The connections the server accepted so far, per listener.
    pub fn counts(&mut self) -> Result<ConnectionCounts, BoxError> {
        self.stdin.write_all(b"counts\n")?;
        self.stdin.flush()?;
        ConnectionCounts::parse(&read_line(&mut self.stdout)?)
    }
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> Result<String, BoxError> {
    let mut line = String::new();
    if stdout.read_line(&mut line)? == 0 {
        return Err("the server process exited".into());
    }
    Ok(line)
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
