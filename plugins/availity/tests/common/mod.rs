//! What the tests share: a simulator on 127.0.0.1:0 whose state and faults the
//! test holds, a plugin initialized against it, and synthetic X12 (made-up people,
//! no PHI).

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use claimbridge_plugin_availity::simulator::{self, SimulatorState, CLIENT_ID, CLIENT_SECRET};
use claimbridge_plugin_availity::AvailityPlugin;
use claimbridge_plugin_sdk::{
    ClaimStatusRequest, Credentials, Operation, OperationOutput, Person, PluginConfig, PluginError,
    PluginHandler, Secret,
};
use claimbridge_simulator_kit::{Faults, Simulator};
use serde_json::{json, Value};

pub struct Vendor {
    pub http: Arc<Simulator>,
    pub state: SimulatorState,
    pub faults: Faults,
}

pub async fn vendor(state: SimulatorState) -> Vendor {
    let faults = Faults::default();
    let http = simulator::start_with(
        "127.0.0.1:0".parse().unwrap(),
        None,
        state.clone(),
        faults.clone(),
    )
    .await
    .unwrap();
    Vendor { http, state, faults }
}

/// Settings for quick tests: short polls.
pub fn quick_settings() -> Value {
    json!({"pollIntervalMillis": 20, "maxPolls": 5, "timeoutSecs": 5})
}

pub fn credentials(secret: &str) -> Credentials {
    let mut credentials = Credentials::default();
    credentials.insert("clientId", Secret::new(CLIENT_ID));
    credentials.insert("clientSecret", Secret::new(secret));
    credentials
}

pub async fn plugin_with(base_url: String, settings: Value, credentials: Credentials) -> AvailityPlugin {
    let mut plugin = AvailityPlugin::new();
    plugin
        .initialize(PluginConfig {
            base_url,
            settings,
            credentials,
        })
        .await
        .unwrap();
    plugin
}

pub async fn plugin(vendor: &Vendor) -> AvailityPlugin {
    plugin_with(
        vendor.http.base_url(),
        quick_settings(),
        credentials(CLIENT_SECRET),
    )
    .await
}

pub async fn run(plugin: &AvailityPlugin, operation: Operation) -> Result<OperationOutput, PluginError> {
    claimbridge_plugin_sdk::execute_checked(plugin, &operation).await
}

/// Requests the simulator served whose path starts with `prefix`.
pub fn served(vendor: &Vendor, prefix: &str) -> u64 {
    vendor
        .faults
        .served()
        .iter()
        .filter(|(path, _)| path.starts_with(prefix))
        .map(|(_, count)| count)
        .sum()
}

/// A subscriber-level 270 for a synthetic member of payer SIM001.
pub fn inquiry_270(member_id: &str, with_birth_date: bool) -> String {
    let dmg = if with_birth_date {
        "DMG*D8*19800214*M~\n"
    } else {
        ""
    };
    let count = if with_birth_date { 13 } else { 12 };
    format!(
        "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*AVAILITY       *260302*1405*^*00501*000000021*0*T*:~\n\
GS*HS*CLAIMBRIDGE*AVAILITY*20260302*1405*21*X*005010X279A1~\n\
ST*270*0001*005010X279A1~\n\
BHT*0022*13*CB-ELIG-21*20260302*1405~\n\
HL*1**20*1~\nNM1*PR*2*SIMULATED HEALTH PLAN*****PI*SIM001~\n\
HL*2*1*21*1~\nNM1*1P*1*EXAMPLE*CASEY****XX*1234567893~\n\
HL*3*2*22*0~\nTRN*1*CB-TRACE-21*9CLAIMBRDG~\nNM1*IL*1*SAMPLE*RIVER****MI*{member_id}~\n{dmg}\
DTP*291*D8*20260302~\nEQ*30^98~\nSE*{count}*0001~\nGE*1*21~\nIEA*1*000000021~\n"
    )
}

/// A synthetic 837P with two claims, `pcns`.
pub fn interchange_837p(pcns: [&str; 2]) -> String {
    interchange_837p_of(&pcns)
}

/// A synthetic 837P with one claim per pcn.
pub fn interchange_837p_of(pcns: &[&str]) -> String {
    let claim = |hl: u32, pcn: &str| {
        format!(
            "HL*{hl}*1*22*0~\nSBR*P*18*******CI~\nNM1*IL*1*SAMPLE*RIVER****MI*SYN100200~\n\
NM1*PR*2*SIMULATED HEALTH PLAN*****PI*SIM001~\nCLM*{pcn}*125.00***11:B:1*Y*A*Y*Y~\n\
HI*ABK:J069~\nLX*1~\nSV1*HC:99213*125.00*UN*1***1~\nDTP*472*D8*20260301~\n"
        )
    };
    let claims: String = pcns
        .iter()
        .enumerate()
        .map(|(index, pcn)| claim(index as u32 + 2, pcn))
        .collect();
    // ST…SE: 10 segments around the claims, 9 per claim.
    let count = 10 + 9 * pcns.len();
    format!(
        "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*AVAILITY       *260302*1405*^*00501*000000031*1*T*:~\n\
GS*HC*CLAIMBRIDGE*AVAILITY*20260302*1405*31*X*005010X222A1~\n\
ST*837*0001*005010X222A1~\nBHT*0019*00*CB-BATCH-31*20260302*1405*CH~\n\
NM1*41*2*SYNTHETIC CLINIC*****46*CLAIMBRIDGE~\nPER*IC*BILLING*TE*5555550100~\n\
NM1*40*2*AVAILITY*****46*AVAILITY~\n\
HL*1**20*1~\nNM1*85*2*SYNTHETIC CLINIC*****XX*1234567893~\nN3*1 EXAMPLE WAY~\nN4*SPRINGFIELD*IL*62701~\nREF*EI*123456789~\n\
{claims}SE*{count}*0001~\nGE*1*31~\nIEA*1*000000031~\n"
    )
}

pub fn status_request(pcn: &str, submission_id: Option<&str>) -> ClaimStatusRequest {
    ClaimStatusRequest {
        submission_id: submission_id.map(str::to_owned),
        patient_control_number: pcn.into(),
        vendor_claim_id: None,
        payer_id: "SIM001".into(),
        billing_provider_npi: "1234567893".into(),
        billing_provider_tax_id: "123456789".into(),
        member_id: "SYN100200".into(),
        subscriber: Person {
            last_name: "SAMPLE".into(),
            first_name: "RIVER".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 2, 14),
        },
        patient: None,
        service_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        service_to: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        charge: "125.00".parse().unwrap(),
    }
}
