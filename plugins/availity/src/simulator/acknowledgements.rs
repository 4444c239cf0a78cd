//! What Availity's batch front end does with an uploaded 837: once the file has
//! stopped growing, it is read, answered with a 999 (`<stem>.999`: the file's
//! syntax) and a 277CA (`<stem>.277`: each claim accepted, A2:20, or rejected,
//! A7:21 under the `reject` fault) in the receive folder, and only then taken out
//! of the send folder — so a file is always in one folder or the other. An
//! unreadable file gets a rejecting 999 and no 277CA.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use claimbridge_simulator_kit::Faults;

use super::state::{ReceivedClaim, SimulatorState};
use crate::edi::{read_837, stem, ClaimFile, ACK_277CA_EXTENSION, ACK_999_EXTENSION, CLAIM_EXTENSION};
use crate::x12::{clean, Envelope};

/// How often the send folder is looked at.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Sweeps `send` forever, answering into `receive`.
pub async fn process_forever(send: PathBuf, receive: PathBuf, state: SimulatorState, faults: Faults) {
    let mut sizes: HashMap<PathBuf, u64> = HashMap::new();
    let mut control_number = 1_u32;
    loop {
        tokio::time::sleep(SWEEP_INTERVAL).await;
        let Ok(entries) = std::fs::read_dir(&send) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(&format!(".{CLAIM_EXTENSION}")) {
                continue;
            }
            let Ok(size) = entry.metadata().map(|m| m.len()) else {
                continue;
            };
            // A file still being written is left for the next sweep.
            if sizes.insert(path.clone(), size) != Some(size) || size == 0 {
                continue;
            }
            sizes.remove(&path);
            control_number += 1;
            if let Err(error) = answer(&path, &name, &receive, &state, &faults, control_number) {
                tracing::warn!(%error, file = %name, "simulator could not answer an 837");
            }
        }
    }
}

fn answer(
    path: &Path,
    name: &str,
    receive: &Path,
    state: &SimulatorState,
    faults: &Faults,
    control_number: u32,
) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let stem = stem(name);
    match read_837(&text) {
        Ok(file) => {
            let accepted = !faults.take_reject();
            write_atomically(
                receive,
                &format!("{stem}.{ACK_999_EXTENSION}"),
                &ack_999(&file, true, control_number),
            )?;
            write_atomically(
                receive,
                &format!("{stem}.{ACK_277CA_EXTENSION}"),
                &ack_277ca(&file, accepted, control_number),
            )?;
            let now = Utc::now();
            for claim in &file.claims {
                state.receive_claim(ReceivedClaim {
                    pcn: claim.patient_control_number.clone(),
                    file_name: name.to_owned(),
                    received_at: now,
                    accepted,
                });
            }
        }
        Err(reason) => {
            tracing::info!(file = %name, %reason, "simulator rejects an unreadable 837");
            let empty = ClaimFile {
                sender_id: "UNKNOWN".into(),
                receiver_id: "AVAILITY".into(),
                group_control_number: "0".into(),
                transaction_control_number: "0001".into(),
                batch_reference: String::new(),
                claims: Vec::new(),
            };
            write_atomically(
                receive,
                &format!("{stem}.{ACK_999_EXTENSION}"),
                &ack_999(&empty, false, control_number),
            )?;
        }
    }
    std::fs::remove_file(path)
}

/// Written under a dot name and renamed, so a reader never sees half a file.
fn write_atomically(folder: &Path, name: &str, contents: &str) -> std::io::Result<()> {
    let partial = folder.join(format!(".{name}.partial"));
    std::fs::write(&partial, contents)?;
    std::fs::rename(partial, folder.join(name))
}

fn envelope(file: &ClaimFile, control_number: u32) -> Envelope {
    Envelope {
        sender_id: file.receiver_id.clone(),
        receiver_id: file.sender_id.clone(),
        control_number,
        usage: 'P',
        created: Utc::now(),
    }
}

/// 005010X231A1: the group and its one transaction set accepted, or rejected.
pub fn ack_999(file: &ClaimFile, accepted: bool, control_number: u32) -> String {
    let verdict = if accepted { "A" } else { "R" };
    let body = vec![
        format!("AK1*HC*{}*005010X222A1", clean(&file.group_control_number)),
        format!("AK2*837*{}*005010X222A1", clean(&file.transaction_control_number)),
        if accepted {
            "IK5*A".into()
        } else {
            "IK5*R*5".into()
        },
        format!("AK9*{verdict}*1*1*{}", if accepted { 1 } else { 0 }),
    ];
    envelope(file, control_number).wrap("FA", "999", "005010X231A1", &body)
}

/// 005010X214: the batch at the submitter level (TRN*2 its BHT03), then each claim
/// (HL PT, TRN*2 its CLM01) with its STC, its clearinghouse trace (REF*D9) and,
/// when accepted, the payer's claim number (REF*1K).
pub fn ack_277ca(file: &ClaimFile, accepted: bool, control_number: u32) -> String {
    let today = Utc::now().format("%Y%m%d").to_string();
    let (category, status) = if accepted { ("A2", "20") } else { ("A7", "21") };
    let mut body = vec![
        format!(
            "BHT*0085*08*{}*{today}*{}*TH",
            control_number,
            Utc::now().format("%H%M")
        ),
        "HL*1**20*1".into(),
        "NM1*PR*2*AVAILITY*****46*AVAILITY".into(),
        format!("TRN*1*{control_number}"),
        format!("DTP*050*D8*{today}"),
        format!("DTP*009*D8*{today}"),
        "HL*2*1*21*1".into(),
        format!("NM1*41*2*SUBMITTER*****46*{}", clean(&file.sender_id)),
        format!("TRN*2*{}", clean(&file.batch_reference)),
        format!("STC*A1:19*{today}*WQ"),
        format!("QTY*{}*{}", if accepted { "90" } else { "AA" }, file.claims.len()),
        "HL*3*2*19*1".into(),
        "NM1*85*2*BILLING PROVIDER".into(),
    ];
    for (index, claim) in file.claims.iter().enumerate() {
        let pcn = clean(&claim.patient_control_number);
        body.push(format!("HL*{}*3*PT", index + 4));
        body.push("NM1*QC*1*PATIENT".into());
        body.push(format!("TRN*2*{pcn}"));
        body.push(format!(
            "STC*{category}:{status}*{today}*{}*{}",
            if accepted { "WQ" } else { "U" },
            clean(&claim.charge)
        ));
        if accepted {
            body.push(format!("REF*1K*SIMICN{control_number:04}{index:03}"));
        }
        body.push(format!("REF*D9*AV{control_number:06}{index:03}"));
    }
    envelope(file, control_number).wrap("HN", "277", "005010X214", &body)
}
