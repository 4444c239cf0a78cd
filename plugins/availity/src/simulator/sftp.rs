//! Availity's EDI SFTP server, simulated with the real thing: Debian's OpenSSH
//! `sshd` (package `openssh-server`) on 127.0.0.1 and a free port, with a host key
//! and a client key generated for the occasion, the login forced into
//! `internal-sftp` rooted at a folder holding `SendFiles` and `ReceiveFiles`. A task
//! answers each uploaded 837 as Availity's front end would
//! ([`super::acknowledgements`]).
//!
//! `sshd` needs root (it logs users in) and its privilege-separation directory
//! `/run/sshd`, which is created here. The process is killed when the
//! [`SftpServer`] is dropped.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use claimbridge_simulator_kit::Faults;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::acknowledgements::process_forever;
use super::state::SimulatorState;

/// Where Debian installs the daemon; `sshd` must be started by absolute path.
pub const SSHD: &str = "/usr/sbin/sshd";
pub const SEND_FOLDER: &str = "SendFiles";
pub const RECEIVE_FOLDER: &str = "ReceiveFiles";

/// A running SFTP server; stopped when dropped.
pub struct SftpServer {
    root: PathBuf,
    port: u16,
    username: String,
    host_public_key: String,
    client_private_key: String,
    sshd: Child,
    processor: JoinHandle<()>,
    /// Keys and the daemon's configuration.
    _keys: tempfile::TempDir,
}

impl SftpServer {
    /// Serves `root` (its `SendFiles` and `ReceiveFiles` are created), answering
    /// uploads with acknowledgements and recording the claims in `state`; `faults`
    /// decides rejections.
    pub async fn start(root: &Path, state: SimulatorState, faults: Faults) -> io::Result<SftpServer> {
        let root = root.canonicalize()?;
        std::fs::create_dir_all(root.join(SEND_FOLDER))?;
        std::fs::create_dir_all(root.join(RECEIVE_FOLDER))?;
        let keys = tempfile::Builder::new().prefix("availity-sim-sshd").tempdir()?;
        let host_key = keys.path().join("host_key");
        let client_key = keys.path().join("client_key");
        generate_key(&host_key).await?;
        generate_key(&client_key).await?;
        std::fs::copy(
            client_key.with_extension("pub"),
            keys.path().join("authorized_keys"),
        )?;
        std::fs::create_dir_all("/run/sshd")?;
        let username = current_user().await?;
        let port = free_port()?;
        let config = keys.path().join("sshd_config");
        std::fs::write(&config, sshd_config(keys.path(), &root, &username, port))?;
        let log = std::fs::File::create(keys.path().join("sshd.log"))?;
        let sshd = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start {SSHD} (apt-get install openssh-server): {e}"),
                )
            })?;
        let mut server = SftpServer {
            root: root.clone(),
            port,
            username,
            host_public_key: public_key(&host_key.with_extension("pub"))?,
            client_private_key: std::fs::read_to_string(&client_key)?,
            sshd,
            processor: tokio::spawn(process_forever(
                root.join(SEND_FOLDER),
                root.join(RECEIVE_FOLDER),
                state,
                faults,
            )),
            _keys: keys,
        };
        server.wait_until_listening().await?;
        Ok(server)
    }

    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login name the client key is authorized for (the user running `sshd`).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `ssh-ed25519 AAAA…`, for the plugin's `sftpHostKey`.
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// The OpenSSH private key that may log in, for the plugin's `sftpPrivateKey`.
    pub fn client_private_key(&self) -> &str {
        &self.client_private_key
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn send_folder(&self) -> PathBuf {
        self.root.join(SEND_FOLDER)
    }

    pub fn receive_folder(&self) -> PathBuf {
        self.root.join(RECEIVE_FOLDER)
    }

    async fn wait_until_listening(&mut self) -> io::Result<()> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.sshd.try_wait()? {
                return Err(io::Error::other(format!("sshd exited at start: {status}")));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(io::Error::other("sshd did not listen within 10 s"))
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        self.processor.abort();
        let _ = self.sshd.start_kill();
    }
}

fn sshd_config(keys: &Path, root: &Path, username: &str, port: u16) -> String {
    format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {host_key}\n\
         PidFile none\n\
         AuthorizedKeysFile {authorized}\n\
         AllowUsers {username}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         AllowTcpForwarding no\n\
         X11Forwarding no\n\
         Subsystem sftp internal-sftp\n\
         ForceCommand internal-sftp -d {root}\n",
        host_key = keys.join("host_key").display(),
        authorized = keys.join("authorized_keys").display(),
        root = root.display(),
    )
}

async fn generate_key(path: &Path) -> io::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "availity-simulator", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .await?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("ssh-keygen failed: {status}")))
    }
}

/// `type key`, without the comment.
fn public_key(path: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

async fn current_user() -> io::Result<String> {
    let output = Command::new("id").arg("-un").output().await?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if name.is_empty() {
        Err(io::Error::other("cannot tell the current user"))
    } else {
        Ok(name)
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
