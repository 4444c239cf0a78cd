//! What the simulated Claim.MD account holds: uploaded files, the claims read from
//! them, the response feed and the ERAs, with Claim.MD's monotonic ids so the
//! cursors work; and, for tests, how many times each claim arrived.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::answer::error;
use super::benefits::write_271;
use super::remit::{write_835, Payment};
use super::x12::{amount, read_270, read_837, ClaimRead};

/// Claim.MD returns at most this many responses per call.
const RESPONSES_PER_CALL: usize = 20_000;

/// Files per upload-list page, and ERAs per ERA-list page.
const LIST_PAGE: usize = 100;

/// The simulator's error codes. Claim.MD publishes none; these only have to be
/// stable for the simulator's own tests.
pub(crate) mod codes {
    pub const ACCOUNT_KEY: &str = "E001";
    pub const NO_FILE: &str = "E101";
    pub const UNREADABLE_FILE: &str = "E102";
    pub const REJECTED_FILE: &str = "E103";
    pub const UNKNOWN_ERA: &str = "E201";
    pub const BAD_REQUEST: &str = "E301";
}

/// The account's records, shared by the simulator's workers and its inspection
/// routes.
#[derive(Debug, Clone, Default)]
pub struct Books(Arc<Mutex<Account>>);

#[derive(Debug, Default)]
struct Account {
    last_id: u64,
    files: Vec<UploadedFile>,
    responses: Vec<Response>,
    eras: Vec<Era>,
    /// By PCN: every file the claim arrived in.
    arrivals: BTreeMap<String, Vec<String>>,
    /// Errors to answer the next requests with, for tests (`PUT /__simulator/vendor-error`).
    scripted_errors: Option<(Value, u32)>,
    /// `uploadlist` answers still to leave every file out, as a listing that has not
    /// caught up with the uploads (`PUT /__simulator/listing-lag`).
    listing_lag: u32,
}

#[derive(Debug)]
struct UploadedFile {
    fileid: u64,
    filename: String,
    uploaded: NaiveDate,
    claim_count: usize,
    total_charge: Decimal,
}

#[derive(Debug)]
struct Response {
    responseid: u64,
    claimmd_id: String,
    claim: Value,
}

#[derive(Debug)]
struct Era {
    eraid: u64,
    header: Value,
    x835: String,
    downloaded: Option<NaiveDateTime>,
}

impl Books {
    fn lock(&self) -> MutexGuard<'_, Account> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers the next `times` requests with `result` (an `error` result).
    pub(crate) fn script_error(&self, result: Value, times: u32) {
        self.lock().scripted_errors = (times > 0).then_some((result, times));
    }

    pub(crate) fn take_scripted_error(&self) -> Option<Value> {
        let mut account = self.lock();
        let (result, left) = account.scripted_errors.as_mut()?;
        let result = result.clone();
        *left -= 1;
        if *left == 0 {
            account.scripted_errors = None;
        }
        Some(result)
    }

    /// Every claim received, with how many times: what proves "exactly once".
    pub fn claims_received(&self) -> Value {
        let account = self.lock();
        Value::Array(
            account
                .arrivals
                .iter()
                .map(|(pcn, files)| {
                    json!({
                        "pcn": pcn,
                        "fileName": files[0],
                        "fileNames": files,
                        "timesReceived": files.len(),
                    })
                })
                .collect(),
        )
    }

    /// `/services/upload/`: reads the 837, runs Claim.MD's edits on each claim,
    /// records the file, a response per claim and an ERA per accepted claim.
    pub(crate) fn upload(&self, file_name: &str, contents: &str) -> Value {
        let (_, claims) = match read_837(contents) {
            Ok(read) => read,
            Err(why) => {
                return error(
                    codes::UNREADABLE_FILE,
                    &format!("Unrecognized file format: {why}"),
                )
            }
        };
        let now = Utc::now().naive_utc();
        let mut account = self.lock();
        let fileid = account.next_id();
        let mut elements = Vec::with_capacity(claims.len());
        for claim in &claims {
            let claimmd_id = account.next_id().to_string();
            let duplicate = account.arrivals.contains_key(&claim.pcn);
            account
                .arrivals
                .entry(claim.pcn.clone())
                .or_default()
                .push(file_name.to_owned());
            let rejections = edits(claim);
            let responseid = account.next_id();
            let mut messages: Vec<Value> = rejections
                .iter()
                .map(|message| json!({"status": "R", "message": message, "responseid": responseid.to_string()}))
                .collect();
            if duplicate {
                messages.push(json!({"status": "W", "message": "Possible duplicate: a claim with this patient control number was received before", "responseid": responseid.to_string()}));
            }
            let status = if rejections.is_empty() { "A" } else { "R" };
            if status == "A" {
                messages.push(json!({"status": "A", "message": "Claim accepted by Claim.MD and sent to the payer", "responseid": responseid.to_string()}));
            }
            let element = json!({
                "claimmd_id": claimmd_id,
                "pcn": claim.pcn,
                "status": status,
                "fileid": fileid.to_string(),
                "filename": file_name,
                "total_charge": amount(claim.charge.unwrap_or_default()),
                "payerid": claim.payer.id,
                "bill_npi": claim.billing.id,
                "bill_taxid": claim.billing_tax_id,
                "fdos": claim.service_date.clone().unwrap_or_default(),
                "sender_name": "Claim.MD",
                "response_time": now.format("%Y-%m-%d %H:%M:%S").to_string(),
                "messages": messages,
            });
            account.responses.push(Response {
                responseid,
                claimmd_id: claimmd_id.clone(),
                claim: element.clone(),
            });
            if status == "A" {
                account.pay(claim, &claimmd_id, now);
            }
            elements.push(element);
        }
        account.files.push(UploadedFile {
            fileid,
            filename: file_name.to_owned(),
            uploaded: now.date(),
            claim_count: claims.len(),
            total_charge: claims.iter().filter_map(|claim| claim.charge).sum(),
        });
        json!({
            "messages": format!("{} claim(s) received in {file_name}", claims.len()),
            "claim": elements,
        })
    }

    /// `/services/uploadlist/`: newest file first, a page at a time.
    /// The next `times` `uploadlist` answers list no file.
    pub(crate) fn lag_listing(&self, times: u32) {
        self.lock().listing_lag = times;
    }

    pub(crate) fn upload_list(&self, page: usize, on: Option<NaiveDate>) -> Value {
        let mut account = self.lock();
        if account.listing_lag > 0 {
            account.listing_lag -= 1;
            return json!({ "file": [] });
        }
        let files: Vec<Value> = account
            .files
            .iter()
            .rev()
            .filter(|file| on.is_none_or(|day| file.uploaded == day))
            .skip(page.saturating_sub(1) * LIST_PAGE)
            .take(LIST_PAGE)
            .map(|file| {
                json!({
                    "fileid": file.fileid.to_string(),
                    "filename": file.filename,
                    "upload_date": file.uploaded.format("%Y-%m-%d").to_string(),
                    "claim_count": file.claim_count.to_string(),
                    "total_charge": amount(file.total_charge),
                })
            })
            .collect();
        json!({ "file": files })
    }

    /// `/services/response/`: the responses after `after` (of one claim when
    /// `claim_id` is given), with the cursor to read from next.
    pub(crate) fn responses_after(&self, after: u64, claim_id: Option<&str>) -> Value {
        let account = self.lock();
        let page: Vec<&Response> = account
            .responses
            .iter()
            .filter(|response| response.responseid > after)
            .filter(|response| claim_id.is_none_or(|id| response.claimmd_id == id))
            .take(RESPONSES_PER_CALL)
            .collect();
        let last = page.last().map_or(after, |response| response.responseid);
        json!({
            "last_responseid": last.to_string(),
            "claim": page.iter().map(|response| response.claim.clone()).collect::<Vec<_>>(),
        })
    }

    /// `/services/eralist/`: ERAs after `after`; with `new_only`, those not yet
    /// downloaded (Claim.MD's default).
    pub(crate) fn era_list(&self, after: u64, new_only: bool, page: usize) -> Value {
        let account = self.lock();
        let eras: Vec<&Era> = account
            .eras
            .iter()
            .filter(|era| era.eraid > after)
            .filter(|era| !new_only || era.downloaded.is_none())
            .skip(page.saturating_sub(1) * LIST_PAGE)
            .take(LIST_PAGE)
            .collect();
        let last = eras.last().map_or(after, |era| era.eraid);
        let listed: Vec<Value> = eras
            .iter()
            .map(|era| {
                let mut header = era.header.clone();
                header["download_time"] = json!(era
                    .downloaded
                    .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default());
                header
            })
            .collect();
        json!({ "last_eraid": last.to_string(), "era": listed })
    }

    /// `/services/era835/`: the 835, marking the ERA downloaded.
    pub(crate) fn era_835(&self, eraid: u64) -> Value {
        let mut account = self.lock();
        let Some(era) = account.eras.iter_mut().find(|era| era.eraid == eraid) else {
            return error(codes::UNKNOWN_ERA, &format!("ERA {eraid} not found"));
        };
        era.downloaded.get_or_insert(Utc::now().naive_utc());
        json!({ "eraid": eraid.to_string(), "data": era.x835 })
    }

    /// `/services/elig/`: the 271 answering a 270.
    pub(crate) fn eligibility(&self, contents: &str) -> Value {
        let inquiry = match read_270(contents) {
            Ok(inquiry) => inquiry,
            Err(why) => {
                return error(
                    codes::UNREADABLE_FILE,
                    &format!("Unrecognized file format: {why}"),
                )
            }
        };
        let eligid = self.lock().next_id();
        let x271 = write_271(&inquiry, eligid, Utc::now().naive_utc());
        json!({ "eligibility": { "eligid": eligid.to_string(), "data": x271 } })
    }
}

impl Account {
    /// Claim.MD's ids only grow; one sequence serves files, claims, responses and ERAs.
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// The payer pays the accepted claim in full: an ERA with its 835.
    fn pay(&mut self, claim: &ClaimRead, claimmd_id: &str, now: NaiveDateTime) {
        let eraid = self.next_id();
        let paid = claim.charge.unwrap_or_default();
        let check_number = format!("SIM{eraid:06}");
        let x835 = write_835(&Payment {
            claim,
            paid,
            check_number: &check_number,
            payer_claim_number: &format!("SIM{claimmd_id}"),
            control: eraid,
            at: now,
        });
        self.eras.push(Era {
            eraid,
            header: json!({
                "eraid": eraid.to_string(),
                "check_number": check_number,
                "check_type": "CHK",
                "paid_amount": amount(paid),
                "paid_date": now.format("%Y-%m-%d").to_string(),
                "payer_name": claim.payer.last,
                "payerid": claim.payer.id,
                "prov_name": claim.billing.last,
                "prov_npi": claim.billing.id,
                "prov_taxid": claim.billing_tax_id,
                "received_time": now.format("%Y-%m-%d %H:%M:%S").to_string(),
            }),
            x835,
            downloaded: None,
        });
    }
}

/// Claim.MD's front-end edits, the few the simulator runs: why the claim is
/// rejected, or nothing when it is accepted.
fn edits(claim: &ClaimRead) -> Vec<String> {
    let mut rejections = Vec::new();
    match claim.charge {
        Some(charge) if charge > Decimal::ZERO => {
            if claim.lines > 0 && claim.line_total != charge {
                rejections.push(format!(
                    "Total charge {} does not equal the sum of the service lines {}",
                    amount(charge),
                    amount(claim.line_total)
                ));
            }
        }
        _ => rejections.push("Total charge (CLM02) must be an amount greater than zero".to_owned()),
    }
    if claim.payer.id.is_empty() {
        rejections.push("Payer ID (2010BB NM1*PR) is missing".to_owned());
    }
    if claim.pcn.is_empty() {
        rejections.push("Patient control number (CLM01) is missing".to_owned());
    }
    rejections
}

#[cfg(test)]
mod tests {
    use super::super::x12::tests::two_claims;
    use super::*;

    #[test]
    fn an_upload_accepts_what_balances_rejects_what_does_not_and_pays_the_accepted() {
        let books = Books::default();
        let answer = books.upload("S1.837", &two_claims());
        assert_eq!(answer["claim"][0]["status"], "A");
        assert_eq!(answer["claim"][1]["status"], "R");
        assert_eq!(answer["claim"][1]["messages"][0]["status"], "R");
        let feed = books.responses_after(0, None);
        assert_eq!(feed["claim"].as_array().unwrap().len(), 2);
        let eras = books.era_list(0, true, 1);
        assert_eq!(eras["era"].as_array().unwrap().len(), 1);
        assert_eq!(books.upload_list(1, None)["file"][0]["claim_count"], "2");
    }

    #[test]
    fn a_downloaded_era_leaves_the_new_only_list_but_not_the_full_one() {
        let books = Books::default();
        books.upload("S1.837", &two_claims());
        let eraid: u64 = books.era_list(0, true, 1)["era"][0]["eraid"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(books.era_835(eraid)["data"].as_str().unwrap().starts_with("ISA"));
        assert!(books.era_list(0, true, 1)["era"].as_array().unwrap().is_empty());
        assert_eq!(books.era_list(0, false, 1)["era"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_claim_sent_twice_is_counted_twice_and_warned_about() {
        let books = Books::default();
        books.upload("S1.837", &two_claims());
        let second = books.upload("S2.837", &two_claims());
        assert_eq!(second["claim"][0]["messages"][0]["status"], "W");
        let received = books.claims_received();
        assert_eq!(received[0]["timesReceived"], 2);
        assert_eq!(received[0]["fileName"], "S1.837");
    }
}
