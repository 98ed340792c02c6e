//! The brokers `conform` runs against: a managed single-node noida-db (PyPI: `pip install
//! noida-db`) that scn starts on 127.0.0.1 on a free port with a fresh data folder and stops
//! after the run, or the user's own broker or cluster (`--bootstrap HOST:PORT`, loopback only).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the clients connect.
pub enum Target {
    /// A noida-db process scn started (and can crash, restart and pause).
    Managed(Managed),
    /// A broker or cluster scn does not manage.
    External { bootstrap: SocketAddr },
}

/// A noida-db process on loopback.
pub struct Managed {
    program: PathBuf,
    data: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// Finds the noida-db program: `$SCN_NOIDA_DB`, else `noida-db` on the PATH.
fn noida_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCN_NOIDA_DB") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join("noida-db")).find(|p| p.is_file())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Managed {
    /// Starts noida-db with only its Kafka service, waiting up to 20 s for its port.
    pub fn start() -> Result<Managed, String> {
        let program = noida_program().ok_or(
            "noida-db not found (install it with `pip install noida-db`, set SCN_NOIDA_DB, or give --bootstrap HOST:PORT)",
        )?;
        let data =
            std::env::temp_dir().join(format!("scn-conform-{}-{}", std::process::id(), free_port().unwrap_or(0)));
        let port = free_port().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
        let mut m = Managed { program, data, port, child: None };
        m.spawn()?;
        Ok(m)
    }

    fn spawn(&mut self) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        // Its own process group: `noida-db` on the PATH is often a wrapper (a pyenv shim, a
        // pip console script) whose child is the server, and a crash must kill them all.
        let child = Command::new(&self.program)
            .process_group(0)
            .args(["start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port"])
            .arg(self.port.to_string())
            .arg("--data-dir")
            .arg(&self.data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("noida-db exited at start ({status})"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("noida-db did not listen on {} within 20 s", self.addr()))
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the process group (SIGKILL): a broker crash.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = signal_group(c.id(), "-KILL");
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the broker for good and removes its data.
    pub fn stop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir_all(&self.data);
    }

    /// Starts the process again on the same port and data.
    pub fn restart(&mut self) -> Result<(), String> {
        self.crash();
        self.spawn()
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    pub fn pause(&self, on: bool) -> Result<(), String> {
        let pid = self.child.as_ref().ok_or("the broker is down")?.id();
        signal_group(pid, if on { "-STOP" } else { "-CONT" })
    }
}

/// Sends a signal to the process group led by `pid` (`kill -SIG -- -PGID`).
fn signal_group(pid: u32, signal: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("kill {signal} -{pid} failed")) }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resolves `--bootstrap HOST:PORT` to a loopback address, or says why not.
pub fn loopback(bootstrap: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> =
        bootstrap.to_socket_addrs().map_err(|e| format!("--bootstrap {bootstrap}: {e}"))?.collect();
    addrs.iter().copied().find(|a| a.ip().is_loopback()).ok_or_else(|| {
        format!("--bootstrap {bootstrap}: conform runs on loopback only (this address is not 127.0.0.0/8 or ::1)")
    })
}

impl Target {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Target::Managed(m) => m.addr(),
            Target::External { bootstrap, .. } => *bootstrap,
        }
    }

    /// How the report names the target.
    pub fn describe(&self) -> String {
        match self {
            Target::Managed(m) => format!("managed noida-db on {} (single node)", m.addr()),
            Target::External { bootstrap, .. } => format!("broker at {bootstrap} (--bootstrap)"),
        }
    }
}
