//! What the integration tests share: a simulator on a free port, a plugin
//! configured against it, synthetic X12 (invented people and ids only), and the
//! simulator's inspection routes.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use claimbridge_plugin_claimmd::simulator::{self, Books, Simulator, DEFAULT_ACCOUNT_KEY};
use claimbridge_plugin_claimmd::{ClaimMdPlugin, ACCOUNT_KEY_CREDENTIAL};
use claimbridge_plugin_sdk::{
    execute_checked, ClaimStatusReport, ClaimStatusRequest, ClaimSubmission, Credentials, FeedRequest,
    Operation, OperationOutput, Person, PluginConfig, PluginError, PluginHandler, Secret,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub struct Harness {
    pub simulator: Arc<Simulator>,
    pub books: Books,
    pub plugin: ClaimMdPlugin,
}

/// A simulator showing `fault` from the start, and a plugin with a one-second
/// timeout talking to it with the simulator's AccountKey.
pub async fn harness(fault: Option<&str>) -> Harness {
    harness_with(fault, json!({"timeoutSecs": 1}), DEFAULT_ACCOUNT_KEY).await
}

pub async fn harness_with(fault: Option<&str>, settings: Value, account_key: &str) -> Harness {
    let (simulator, books) =
        simulator::start_with("127.0.0.1:0".parse().unwrap(), fault, DEFAULT_ACCOUNT_KEY)
            .await
            .unwrap();
    let plugin = plugin(&simulator.base_url(), settings, account_key).await;
    Harness {
        simulator,
        books,
        plugin,
    }
}

pub async fn plugin(base_url: &str, settings: Value, account_key: &str) -> ClaimMdPlugin {
    let mut credentials = Credentials::default();
    credentials.insert(ACCOUNT_KEY_CREDENTIAL, Secret::new(account_key));
    let mut plugin = ClaimMdPlugin::new();
    plugin
        .initialize(PluginConfig {
            base_url: base_url.to_owned(),
            settings,
            credentials,
        })
        .await
        .unwrap();
    plugin
}

impl Harness {
    pub async fn run(&self, operation: Operation) -> Result<OperationOutput, PluginError> {
        execute_checked(&self.plugin, &operation).await
    }

    pub async fn submit(
        &self,
        submission_id: &str,
        interchange: &str,
    ) -> Result<OperationOutput, PluginError> {
        self.run(Operation::SubmitClaim(ClaimSubmission {
            submission_id: submission_id.to_owned(),
            interchange_837p: interchange.to_owned(),
        }))
        .await
    }

    pub async fn status(&self, request: ClaimStatusRequest) -> ClaimStatusReport {
        match self.run(Operation::ClaimStatus(request)).await.unwrap() {
            OperationOutput::ClaimStatus(report) => report,
            other => panic!("not a status report: {other:?}"),
        }
    }

    pub async fn status_feed(
        &self,
        after: Option<&str>,
    ) -> claimbridge_plugin_sdk::FeedPage<claimbridge_plugin_sdk::ClaimStatusUpdate> {
        match self
            .run(Operation::ClaimStatusFeed(feed_after(after)))
            .await
            .unwrap()
        {
            OperationOutput::ClaimStatusFeed(page) => page,
            other => panic!("not a status feed page: {other:?}"),
        }
    }

    pub async fn remittances(
        &self,
        after: Option<&str>,
    ) -> claimbridge_plugin_sdk::FeedPage<claimbridge_plugin_sdk::Remittance> {
        match self
            .run(Operation::FetchRemittance(feed_after(after)))
            .await
            .unwrap()
        {
            OperationOutput::FetchRemittance(page) => page,
            other => panic!("not a remittance page: {other:?}"),
        }
    }

    /// `GET /__simulator/claims`.
    pub async fn claims_received(&self) -> Value {
        control_client()
            .get(format!("{}/__simulator/claims", self.simulator.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// How many vendor requests the simulator served on `path`.
    pub async fn served(&self, path: &str) -> u64 {
        let served: Value = control_client()
            .get(format!("{}/__simulator/requests", self.simulator.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        served[path].as_u64().unwrap_or(0)
    }

    /// `PUT /__simulator/fault`.
    pub async fn fault(&self, fault: &str, times: Option<u32>) {
        let answer = control_client()
            .put(format!("{}/__simulator/fault", self.simulator.base_url()))
            .json(&json!({"fault": fault, "times": times}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }

    /// `PUT /__simulator/vendor-error`: the next request is answered with this error.
    pub async fn vendor_error(&self, code: &str, message: &str) {
        let answer = control_client()
            .put(format!("{}/__simulator/vendor-error", self.simulator.base_url()))
            .json(&json!({"errorCode": code, "errorMesg": message}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }
}

pub fn feed_after(after: Option<&str>) -> FeedRequest {
    FeedRequest {
        after: after.map(|cursor| claimbridge_plugin_sdk::Cursor(cursor.to_owned())),
    }
}

pub fn control_client() -> reqwest::Client {
    claimbridge_plugin_sdk::http_client::client(Duration::from_secs(5)).unwrap()
}

/// A synthetic 837P with one claim per `(pcn, total, sum of the lines)`; a claim
/// whose lines do not add up to its total is one the simulator's edits reject.
pub fn interchange_837(claims: &[(&str, &str, &str)]) -> String {
    let mut body = vec![
        "BHT*0019*00*B1*20260115*1200*CH".to_owned(),
        "NM1*41*2*SYNTHETIC CLINIC*****46*CB0001".to_owned(),
        "NM1*40*2*CLAIM.MD*****46*CLAIMMD".to_owned(),
        "HL*1**20*1".to_owned(),
        "NM1*85*2*SYNTHETIC CLINIC*****XX*1999999984".to_owned(),
        "N3*1 TEST STREET".to_owned(),
        "N4*TESTVILLE*MN*55401".to_owned(),
        "REF*EI*990000001".to_owned(),
    ];
    for (index, (pcn, total, lines)) in claims.iter().enumerate() {
        let hl = index + 2;
        body.push(format!("HL*{hl}*1*22*0"));
        body.push("SBR*P*18*******CI".to_owned());
        body.push(format!("NM1*IL*1*TESTPERSON*ALEX{index}****MI*SIM{index:04}"));
        body.push("NM1*PR*2*SIM HEALTH PLAN*****PI*87726".to_owned());
        body.push(format!("CLM*{pcn}*{total}***11:B:1*Y*A*Y*Y"));
        body.push("HI*ABK:J101".to_owned());
        body.push("LX*1".to_owned());
        body.push(format!("SV1*HC:99213*{lines}*UN*1***1"));
        body.push("DTP*472*D8*20260110".to_owned());
    }
    let mut segments = vec![
        "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*CLAIMMD        *260115*1200*^*00501*000000101*0*T*:".to_owned(),
        "GS*HC*CLAIMBRIDGE*CLAIMMD*20260115*1200*101*X*005010X222A1".to_owned(),
        "ST*837*0001*005010X222A1".to_owned(),
    ];
    let count = body.len() + 2;
    segments.extend(body);
    segments.push(format!("SE*{count}*0001"));
    segments.push("GE*1*101".to_owned());
    segments.push("IEA*1*000000101".to_owned());
    segments.join("~\n") + "~\n"
}

/// A synthetic 270 for one subscriber.
pub fn inquiry_270() -> String {
    [
        "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*CLAIMMD        *260115*1200*^*00501*000000201*0*T*:",
        "GS*HS*CLAIMBRIDGE*CLAIMMD*20260115*1200*201*X*005010X279A1",
        "ST*270*0001*005010X279A1",
        "BHT*0022*13*E201*20260115*1200",
        "HL*1**20*1",
        "NM1*PR*2*SIM HEALTH PLAN*****PI*87726",
        "HL*2*1*21*1",
        "NM1*1P*2*SYNTHETIC CLINIC*****XX*1999999984",
        "HL*3*2*22*0",
        "TRN*1*TRACE201*9CLAIMBRDG",
        "NM1*IL*1*TESTPERSON*ALEX****MI*SIM0001",
        "DMG*D8*19800101",
        "DTP*291*D8*20260115",
        "EQ*30",
        "SE*13*0001",
        "GE*1*201",
        "IEA*1*000000201",
    ]
    .join("~\n")
        + "~\n"
}

/// Asks about `pcn`, carried by `submission_id` and known as `vendor_claim_id`.
pub fn status_request(
    submission_id: Option<&str>,
    pcn: &str,
    vendor_claim_id: Option<&str>,
) -> ClaimStatusRequest {
    let day = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
    ClaimStatusRequest {
        submission_id: submission_id.map(str::to_owned),
        patient_control_number: pcn.to_owned(),
        vendor_claim_id: vendor_claim_id.map(str::to_owned),
        payer_id: "87726".into(),
        billing_provider_npi: "1999999984".into(),
        billing_provider_tax_id: "990000001".into(),
        member_id: "SIM0000".into(),
        subscriber: Person {
            last_name: "TESTPERSON".into(),
            first_name: "ALEX".into(),
            birth_date: None,
        },
        patient: None,
        service_from: day,
        service_to: day,
        charge: Decimal::from(150),
    }
}
