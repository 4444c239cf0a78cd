//! SFTP sessions with Availity's EDI server, spoken by `openssh-sftp-client` over
//! the system `ssh` binary (`ssh -s … sftp`): the SFTP protocol in Rust, SSH itself
//! (key exchange, host key check, public-key login) left to OpenSSH, which every
//! machine running Claimbridge has. This compiles far less than a pure-Rust SSH
//! stack (see the README).
//!
//! The private key and the known host key are written to a directory only this
//! handler reads (0700, removed with the handler), because `ssh` takes them from
//! files. `BatchMode` keeps `ssh` from ever prompting.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use claimbridge_plugin_sdk::PluginError;
use futures_util::StreamExt;
use openssh_sftp_client::{Error as SftpError, Sftp, SftpOptions};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::settings::SftpLogin;

/// Where one handler's SSH files live and how it logs in.
pub struct SftpClient {
    login: SftpLogin,
    /// Key and known_hosts; deleted when the handler is dropped.
    files: tempfile::TempDir,
    timeout: Duration,
}

/// Why an upload failed, by whether the file may be on the server.
#[derive(Debug)]
pub enum UploadFailure {
    /// No session was opened: nothing was written.
    NotConnected(PluginError),
    /// The server refused to create the file (it exists, or the folder does not):
    /// nothing was written.
    Refused(String),
    /// The session broke off or timed out after the file was opened: some or all of
    /// it may be there.
    Interrupted(String),
}

/// An open session; the `ssh` child dies with it.
pub struct Session {
    pub sftp: Sftp,
    child: Child,
}

impl SftpClient {
    pub fn new(login: SftpLogin, timeout: Duration) -> Result<Self, PluginError> {
        let files = tempfile::Builder::new()
            .prefix("claimbridge-availity-ssh")
            .tempdir()
            .map_err(|e| PluginError::rejected(format!("cannot prepare the SSH key directory: {e}")))?;
        let private_file = |name: &str, contents: &str| -> Result<(), PluginError> {
            let mut file = fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(files.path().join(name))
                .map_err(|e| PluginError::rejected(format!("cannot write the SSH {name}: {e}")))?;
            // OpenSSH reads a key only with Unix line ends and a final newline.
            let mut contents = contents.trim().replace("\r\n", "\n");
            contents.push('\n');
            file.write_all(contents.as_bytes())
                .map_err(|e| PluginError::rejected(format!("cannot write the SSH {name}: {e}")))
        };
        fs::set_permissions(files.path(), fs::Permissions::from_mode(0o700))
            .map_err(|e| PluginError::rejected(format!("cannot protect the SSH key directory: {e}")))?;
        private_file("key", login.private_key.expose())?;
        let known = match &login.host_key {
            Some(key) => format!("{} {}", known_host_name(&login.host, login.port), key.trim()),
            None => String::new(),
        };
        private_file("known_hosts", &known)?;
        Ok(SftpClient {
            login,
            files,
            timeout,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    /// Logs in and opens the SFTP subsystem.
    pub async fn connect(&self) -> Result<Session, PluginError> {
        let strict = if self.login.host_key.is_some() {
            "yes"
        } else {
            "accept-new"
        };
        let connect_timeout = self.timeout.as_secs().clamp(1, 30);
        let mut child = Command::new("ssh")
            .arg("-F")
            .arg("/dev/null")
            .arg("-p")
            .arg(self.login.port.to_string())
            .arg("-i")
            .arg(self.path("key"))
            .arg("-l")
            .arg(&self.login.username)
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "LogLevel=ERROR",
            ])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.path("known_hosts").display()
            ))
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .arg("-o")
            .arg(format!("StrictHostKeyChecking={strict}"))
            .arg("-o")
            .arg(format!("ConnectTimeout={connect_timeout}"))
            .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"])
            .arg("-s")
            .arg(&self.login.host)
            .arg("sftp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| PluginError::rejected(format!("cannot run ssh: {e}")))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let opened =
            tokio::time::timeout(self.timeout, Sftp::new(stdin, stdout, SftpOptions::default())).await;
        match opened {
            Ok(Ok(sftp)) => Ok(Session { sftp, child }),
            Ok(Err(error)) => Err(login_failure(&mut child, &error.to_string()).await),
            Err(_) => Err(PluginError::transient(format!(
                "the SFTP server {}:{} did not answer in time",
                self.login.host, self.login.port
            ))),
        }
    }

    /// Writes `contents` as `folder/name`, refusing to replace a file already there
    /// (an earlier upload of the same submission).
    pub async fn upload(&self, folder: &str, name: &str, contents: &[u8]) -> Result<(), UploadFailure> {
        let session = self.connect().await.map_err(UploadFailure::NotConnected)?;
        let path = format!("{folder}/{name}");
        let written = tokio::time::timeout(self.timeout, async {
            let mut file = match session
                .sftp
                .options()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(file) => file,
                Err(SftpError::SftpError(_, message)) => {
                    return Err(UploadFailure::Refused(format!("cannot create {path}: {message}")))
                }
                Err(e) => {
                    return Err(UploadFailure::Interrupted(format!(
                        "creating {path} broke off: {e}"
                    )))
                }
            };
            file.write_all(contents)
                .await
                .map_err(|e| UploadFailure::Interrupted(format!("writing {path} broke off: {e}")))?;
            file.close()
                .await
                .map_err(|e| UploadFailure::Interrupted(format!("closing {path} failed: {e}")))
        })
        .await
        .unwrap_or_else(|_| {
            Err(UploadFailure::Interrupted(format!(
                "writing {path} did not finish in time"
            )))
        });
        session.close().await;
        written
    }

    /// The names in `folder`.
    pub async fn list(&self, session: &Session, folder: &str) -> Result<Vec<String>, PluginError> {
        let listing = tokio::time::timeout(self.timeout, async {
            let dir = session.sftp.fs().open_dir(folder).await?;
            let entries: Vec<_> = dir.read_dir().collect().await;
            entries
                .into_iter()
                .map(|entry| entry.map(|entry| entry.filename().to_string_lossy().into_owned()))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|_| PluginError::transient(format!("listing {folder} did not finish in time")))?;
        let names = listing.map_err(|e| PluginError::transient(format!("cannot list {folder}: {e}")))?;
        Ok(names
            .into_iter()
            .filter(|name| name != "." && name != "..")
            .collect())
    }

    pub async fn read(&self, session: &Session, path: &str) -> Result<String, PluginError> {
        let bytes = tokio::time::timeout(self.timeout, session.sftp.fs().read(path))
            .await
            .map_err(|_| PluginError::transient(format!("reading {path} did not finish in time")))?
            .map_err(|e| PluginError::transient(format!("cannot read {path}: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl Session {
    /// Ends the SFTP session and the `ssh` process.
    pub async fn close(mut self) {
        // A broken connection must not hold the operation: the answer is known.
        match tokio::time::timeout(Duration::from_secs(5), self.sftp.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "closing the SFTP session"),
            Err(_) => tracing::debug!("closing the SFTP session timed out"),
        }
        let _ = self.child.kill().await;
    }
}

/// known_hosts names a host on a port other than 22 as `[host]:port`.
fn known_host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Why `ssh` gave up before the SFTP session opened, from what it printed: a key or
/// host key that is refused is the configuration's fault (final); anything else
/// (refused connection, timeout, name resolution) is the network's (transient).
async fn login_failure(child: &mut Child, sftp_error: &str) -> PluginError {
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let mut printed = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), stderr.read_to_string(&mut printed)).await;
    }
    let printed = printed.trim().chars().take(300).collect::<String>();
    let reason = if printed.is_empty() {
        sftp_error.to_owned()
    } else {
        printed
    };
    if reason.contains("Permission denied")
        || reason.contains("Host key verification failed")
        || reason.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || reason.contains("invalid format")
    {
        PluginError::rejected(format!("the SFTP login was refused: {reason}"))
    } else {
        PluginError::transient(format!("cannot open an SFTP session: {reason}"))
    }
}
