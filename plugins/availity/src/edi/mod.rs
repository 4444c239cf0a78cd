//! Claims through Availity's batch EDI channel. Availity has no REST API for claim
//! submission: 837 files are put in the `SendFiles` folder of its EDI SFTP server
//! and the acknowledgements (999, 277CA) come back in `ReceiveFiles`.
//!
//! The file name carries the submission id, which is what keeps a claim from being
//! sent twice: after an upload whose outcome is unknown, [`BatchChannel::status`]
//! looks for the file itself (still in `SendFiles`, waiting for pickup) and for its
//! acknowledgements, in that order — Availity's side writes acknowledgements before
//! it removes the file, so looking at `SendFiles` first leaves no moment in which a
//! file that arrived is found nowhere.

mod files;
mod sftp;

use chrono::Utc;
use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusReport, ClaimStatusUpdate, ClaimSubmission, PluginError, SubmissionReceipt,
    SubmittedClaim,
};

pub use files::{
    claim_file_name, read_837, stem, ClaimFile, ACK_277CA_EXTENSION, ACK_999_EXTENSION, CLAIM_EXTENSION,
};
pub use sftp::SftpClient;

use sftp::UploadFailure;

pub struct BatchChannel {
    pub client: SftpClient,
    pub send_folder: String,
    pub receive_folder: String,
    pub file_prefix: String,
}

impl BatchChannel {
    /// Puts the 837P in `SendFiles`. Failing to connect, or the server refusing to
    /// create the file, sent nothing; a session that breaks off once the file is
    /// open is ambiguous: the file may be there, whole or not.
    pub async fn submit(&self, submission: &ClaimSubmission) -> Result<SubmissionReceipt, PluginError> {
        let file = read_837(&submission.interchange_837p).map_err(PluginError::rejected)?;
        let name = claim_file_name(&self.file_prefix, &submission.submission_id);
        match self
            .client
            .upload(&self.send_folder, &name, submission.interchange_837p.as_bytes())
            .await
        {
            Ok(()) => {}
            Err(UploadFailure::NotConnected(error)) => return Err(error),
            Err(UploadFailure::Refused(reason)) => return Err(PluginError::rejected(reason)),
            Err(UploadFailure::Interrupted(reason)) => return Err(PluginError::ambiguous(reason)),
        }
        tracing::info!(file = %name, claims = file.claims.len(), "837 put in the Availity send folder");
        Ok(SubmissionReceipt {
            vendor_batch_id: name,
            claims: file
                .claims
                .into_iter()
                .map(|claim| SubmittedClaim {
                    patient_control_number: claim.patient_control_number,
                    vendor_claim_id: None,
                    status: ClaimStatusKind::Pending,
                    messages: Vec::new(),
                })
                .collect(),
            received_at: Utc::now(),
        })
    }

    /// What the channel knows of claim `pcn` of submission `submission_id`: its
    /// 277CA status, the 999's verdict on its file, or that the file waits in
    /// `SendFiles`; `None` when the file is in neither folder (it never arrived).
    pub async fn status(
        &self,
        submission_id: &str,
        pcn: &str,
    ) -> Result<Option<ClaimStatusReport>, PluginError> {
        let name = claim_file_name(&self.file_prefix, submission_id);
        let stem = stem(&name);
        let session = self.client.connect().await?;
        let found = async {
            let waiting = self
                .client
                .list(&session, &self.send_folder)
                .await?
                .contains(&name);
            let received = self.client.list(&session, &self.receive_folder).await?;
            let ack = |extension: &str| {
                let wanted = format!("{stem}.{extension}");
                received.iter().find(|name| **name == wanted).cloned()
            };
            if let Some(ack) = ack(ACK_277CA_EXTENSION) {
                let text = self.client.read(&session, &self.path(&ack)).await?;
                let updates = files::read_277ca(&text).map_err(PluginError::rejected)?;
                let mine: Vec<_> = updates
                    .into_iter()
                    .filter(|update| update.patient_control_number == pcn)
                    .collect();
                if !mine.is_empty() {
                    return Ok(Some(mine));
                }
            }
            if let Some(ack) = ack(ACK_999_EXTENSION) {
                let text = self.client.read(&session, &self.path(&ack)).await?;
                let accepted = files::read_999_accepted(&text).map_err(PluginError::rejected)?;
                return Ok(Some(vec![if accepted {
                    file_level(
                        pcn,
                        ClaimStatusKind::Pending,
                        "999 accepted the file; no 277CA yet",
                    )
                } else {
                    file_level(pcn, ClaimStatusKind::Rejected, "999 rejected the file")
                }]));
            }
            if waiting {
                return Ok(Some(vec![file_level(
                    pcn,
                    ClaimStatusKind::Pending,
                    "the file waits in the send folder for Availity to pick it up",
                )]));
            }
            Ok::<_, PluginError>(None)
        }
        .await;
        session.close().await;
        Ok(found?.map(|statuses| ClaimStatusReport { statuses }))
    }

    /// Proves the login and that both folders can be listed.
    pub async fn check(&self) -> Result<usize, PluginError> {
        let session = self.client.connect().await?;
        let listed = async {
            self.client.list(&session, &self.send_folder).await?;
            self.client.list(&session, &self.receive_folder).await
        }
        .await;
        session.close().await;
        listed.map(|names| names.len())
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.receive_folder)
    }
}

fn file_level(pcn: &str, status: ClaimStatusKind, message: &str) -> ClaimStatusUpdate {
    ClaimStatusUpdate {
        patient_control_number: pcn.to_owned(),
        vendor_claim_id: None,
        payer_claim_number: None,
        status,
        category_code: None,
        messages: vec![message.to_owned()],
        effective_date: None,
    }
}
