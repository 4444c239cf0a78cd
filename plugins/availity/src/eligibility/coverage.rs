//! Availity's `Coverage` (the answer of `GET /coverages/{id}`) and the 271 the
//! server reads, written from it: the inquiry's parties and traces echoed, each plan
//! as an EB (active or inactive coverage with its dates and group), and each
//! benefit amount as an EB of its kind — copay (B), coinsurance (A), deductible
//! (C), out-of-pocket (G) — in every network bucket Availity fills, not only
//! `inNetwork` (EB12: Y in, N out, W not applicable).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::api::{describe_all, ValidationMessage};
use crate::eligibility::inquiry::{Inquiry, Member};
use crate::poll::AsyncResource;
use crate::x12::{clean, format_date, Envelope};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Coverage {
    pub id: String,
    pub control_number: Option<String>,
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub payer: Option<CoveragePayer>,
    pub plans: Vec<Plan>,
    pub validation_messages: Vec<ValidationMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CoveragePayer {
    pub payer_id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Plan {
    pub status: Option<String>,
    /// The EB01 code Availity read from the payer's 271 (1 active, 6 inactive…).
    pub status_code: Option<String>,
    pub group_number: Option<String>,
    pub group_name: Option<String>,
    pub insurance_type_code: Option<String>,
    pub plan_name: Option<String>,
    pub coverage_start_date: Option<String>,
    pub coverage_end_date: Option<String>,
    pub benefits: Vec<Benefit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Benefit {
    pub name: Option<String>,
    /// The service type code (30, 98…).
    #[serde(rename = "type")]
    pub service_type: Option<String>,
    pub amounts: Option<Amounts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Amounts {
    pub co_payment: Option<Networks>,
    pub co_insurance: Option<Networks>,
    pub deductibles: Option<Networks>,
    pub out_of_pocket: Option<Networks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Networks {
    pub in_network: Vec<Amount>,
    pub out_of_network: Vec<Amount>,
    pub no_network: Vec<Amount>,
    pub not_applicable_network: Vec<Amount>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
/// The Swagger's `NetworkBenefit`, as far as a 271 EB carries it: an amount, a
/// total and what remains of it, each with its X12 time period code (EB06: 23
/// calendar year, 29 remaining, 27 visit…), and the coverage level.
pub struct Amount {
    /// Dollars, or a percentage for coinsurance.
    pub amount: Option<String>,
    pub amount_time_period_code: Option<String>,
    pub total: Option<String>,
    pub total_time_period_code: Option<String>,
    pub remaining: Option<String>,
    pub remaining_time_period_code: Option<String>,
    /// The X12 coverage level code (EB02: IND, FAM…).
    pub level_code: Option<String>,
    /// Its description (`Individual`, `Family`).
    pub level: Option<String>,
    /// `Percent` for a coinsurance given as a percentage.
    pub units: Option<String>,
}

impl Amount {
    /// Each figure with its period: a deductible says its total and what remains
    /// of it, each one EB.
    fn figures(&self) -> impl Iterator<Item = (&str, &str)> {
        [
            (&self.amount, &self.amount_time_period_code),
            (&self.total, &self.total_time_period_code),
            (&self.remaining, &self.remaining_time_period_code),
        ]
        .into_iter()
        .filter_map(|(value, period)| Some((value.as_deref()?, period.as_deref().unwrap_or(""))))
    }

    fn level_code(&self) -> &str {
        if let Some(code) = self.level_code.as_deref().filter(|code| !code.is_empty()) {
            return code;
        }
        match self.level.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("family") => "FAM",
            Some("employee only") => "EMP",
            _ => "IND",
        }
    }
}

impl AsyncResource for Coverage {
    fn id(&self) -> &str {
        &self.id
    }

    fn status_code(&self) -> Option<&str> {
        self.status_code.as_deref()
    }

    fn problems(&self) -> String {
        describe_all(&self.validation_messages, self.status.as_deref())
    }
}

/// The 271 answering `inquiry` with `coverage`.
pub fn write_271(inquiry: &Inquiry, coverage: &Coverage, control_number: u32, now: DateTime<Utc>) -> String {
    let mut body = vec![
        format!(
            "BHT*0022*11*{}*{}*{}",
            clean(&inquiry.reference),
            now.format("%Y%m%d"),
            now.format("%H%M")
        ),
        "HL*1**20*1".into(),
    ];
    let payer_name = coverage
        .payer
        .as_ref()
        .and_then(|payer| payer.name.clone())
        .unwrap_or_else(|| inquiry.payer.last_name.clone());
    body.push(format!(
        "NM1*PR*2*{}*****PI*{}",
        clean(&payer_name),
        clean(&inquiry.payer.id)
    ));
    body.push("HL*2*1*21*1".into());
    let provider = &inquiry.provider;
    body.push(trim(format!(
        "NM1*1P*{}*{}*{}****XX*{}",
        if provider.entity_type.is_empty() {
            "2"
        } else {
            &provider.entity_type
        },
        clean(&provider.last_name),
        clean(&provider.first_name),
        clean(&provider.id)
    )));
    let has_dependent = inquiry.dependent.is_some();
    body.push(format!("HL*3*2*22*{}", if has_dependent { 1 } else { 0 }));
    member_loop(&mut body, &inquiry.subscriber, "IL", !has_dependent, coverage);
    if let Some(dependent) = &inquiry.dependent {
        body.push("HL*4*3*23*0".into());
        member_loop(&mut body, dependent, "03", true, coverage);
    }
    Envelope {
        sender_id: inquiry.receiver_id.clone(),
        receiver_id: inquiry.sender_id.clone(),
        control_number,
        usage: 'P',
        created: now,
    }
    .wrap("HB", "271", "005010X279A1", &body)
}

/// One member's loop; the benefits go with the member asked about.
fn member_loop(
    body: &mut Vec<String>,
    member: &Member,
    qualifier: &str,
    asked_about: bool,
    coverage: &Coverage,
) {
    if asked_about {
        for (trace, originator) in &member.traces {
            body.push(trim(format!("TRN*2*{}*{}", clean(trace), clean(originator))));
        }
    }
    let id = if qualifier == "IL" {
        format!("****MI*{}", clean(&member.name.id))
    } else {
        String::new()
    };
    body.push(trim(format!(
        "NM1*{qualifier}*1*{}*{}{id}",
        clean(&member.name.last_name),
        clean(&member.name.first_name)
    )));
    if let Some(birth_date) = member.birth_date {
        body.push(trim(format!(
            "DMG*D8*{}*{}",
            format_date(birth_date),
            clean(&member.gender)
        )));
    }
    if !asked_about {
        return;
    }
    if coverage.plans.is_empty() {
        // The payer answered and found no plan for the member: subscriber not found,
        // correct and resubmit.
        body.push("AAA*Y**75*C".into());
        return;
    }
    for plan in &coverage.plans {
        plan_benefits(body, plan);
    }
}

fn plan_benefits(body: &mut Vec<String>, plan: &Plan) {
    let code = plan
        .status_code
        .as_deref()
        .filter(|code| code.len() == 1)
        .unwrap_or(if plan.status.as_deref().unwrap_or("").contains("Inactive") {
            "6"
        } else {
            "1"
        });
    let description = plan
        .plan_name
        .clone()
        .or_else(|| plan.group_name.clone())
        .unwrap_or_default();
    body.push(trim(format!(
        "EB*{code}*IND*30*{}*{}",
        clean(plan.insurance_type_code.as_deref().unwrap_or("")),
        clean(&description)
    )));
    if let Some(group) = &plan.group_number {
        body.push(format!("REF*6P*{}", clean(group)));
    }
    for (qualifier, date) in [
        ("346", &plan.coverage_start_date),
        ("347", &plan.coverage_end_date),
    ] {
        if let Some(date) = date.as_deref().and_then(iso_date) {
            body.push(format!("DTP*{qualifier}*D8*{}", format_date(date)));
        }
    }
    for benefit in &plan.benefits {
        let Some(amounts) = &benefit.amounts else { continue };
        let service_type = benefit.service_type.as_deref().unwrap_or("30");
        for (kind, networks) in [
            ("B", &amounts.co_payment),
            ("A", &amounts.co_insurance),
            ("C", &amounts.deductibles),
            ("G", &amounts.out_of_pocket),
        ] {
            let Some(networks) = networks else { continue };
            for (network, amounts) in [
                ("Y", &networks.in_network),
                ("N", &networks.out_of_network),
                ("", &networks.no_network),
                ("W", &networks.not_applicable_network),
            ] {
                for amount in amounts {
                    for (value, period) in amount.figures() {
                        body.push(benefit_segment(
                            kind,
                            service_type,
                            network,
                            amount,
                            value,
                            period,
                        ));
                    }
                }
            }
        }
    }
}

fn benefit_segment(
    kind: &str,
    service_type: &str,
    network: &str,
    amount: &Amount,
    value: &str,
    period: &str,
) -> String {
    let value = clean(value);
    let (money, percent) = if kind == "A" {
        (String::new(), fraction(&value, amount.units.as_deref()))
    } else {
        (value, String::new())
    };
    trim(format!(
        "EB*{kind}*{}*{}***{}*{money}*{percent}****{network}",
        clean(amount.level_code()),
        clean(service_type),
        clean(period)
    ))
}

/// EB08 is a fraction (0.2 for 20 %); Availity may give the percentage ("20",
/// units `Percent`) or the fraction.
fn fraction(value: &str, units: Option<&str>) -> String {
    let Ok(number) = value.trim_end_matches('%').parse::<rust_decimal::Decimal>() else {
        return String::new();
    };
    let is_percent =
        value.ends_with('%') || units.is_some_and(|u| u.eq_ignore_ascii_case("percent")) || number > 1.into();
    let number = if is_percent {
        number / rust_decimal::Decimal::from(100)
    } else {
        number
    };
    number.normalize().to_string()
}

/// `2026-01-01` or `2026-01-01T00:00:00.000+0000`.
fn iso_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..10)?, "%Y-%m-%d").ok()
}

/// Drops trailing empty elements.
fn trim(segment: String) -> String {
    segment.trim_end_matches('*').to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::eligibility::inquiry::read_270;
    use crate::eligibility::inquiry::tests::DEPENDENT_270;
    use crate::x12::segments;

    #[test]
    fn every_network_bucket_becomes_an_eb_with_its_network_flag() {
        let coverage: Coverage = serde_json::from_value(serde_json::json!({
            "id": "1", "statusCode": "4",
            "plans": [{
                "statusCode": "1", "groupNumber": "GRP1", "groupName": "SYNTHETIC PPO",
                "coverageStartDate": "2026-01-01",
                "benefits": [{"name": "Office visit", "type": "98", "amounts": {
                    "coPayment": {"inNetwork": [{"amount": "25.00"}], "outOfNetwork": [{"amount": "60.00"}]},
                    "coInsurance": {"notApplicableNetwork": [{"amount": "20"}]}
                }}]
            }]
        }))
        .unwrap();
        let inquiry = read_270(DEPENDENT_270).unwrap();
        let text = write_271(
            &inquiry,
            &coverage,
            5,
            Utc.with_ymd_and_hms(2026, 3, 2, 14, 6, 0).unwrap(),
        );
        let segments = segments(&text).unwrap();
        let ebs: Vec<String> = segments
            .iter()
            .filter(|s| s.id == "EB")
            .map(|s| {
                format!(
                    "{}|{}|{}|{}|{}",
                    s.element(1),
                    s.element(3),
                    s.element(7),
                    s.element(8),
                    s.element(12)
                )
            })
            .collect();
        assert_eq!(ebs, ["1|30|||", "B|98|25.00||Y", "B|98|60.00||N", "A|98||0.2|W"]);
        // The benefits sit under the dependent asked about, after its trace echoed.
        let dependent_at = segments
            .iter()
            .position(|s| s.id == "HL" && s.element(3) == "23")
            .unwrap();
        let first_eb = segments.iter().position(|s| s.id == "EB").unwrap();
        assert!(first_eb > dependent_at);
        assert!(text.contains("TRN*2*CB-TRACE-11*9CLAIMBRDG~"));
        let se = segments.iter().find(|s| s.id == "SE").unwrap();
        let st = segments.iter().position(|s| s.id == "ST").unwrap();
        let se_at = segments.iter().position(|s| s.id == "SE").unwrap();
        assert_eq!(se.element(1), (se_at - st + 1).to_string());
    }
}
