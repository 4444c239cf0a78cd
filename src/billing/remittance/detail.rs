//! A claim payment (CLP and what follows it) as JSON, kept with an unmatched claim
//! payment so that a person matching it by hand sees everything the payer said
//! without going back to the file.

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::billing::remittance::money::json_amount;
use crate::x12::entity::EntityName;
use crate::x12::remittance::{Adjustment, ClaimPayment, Procedure, ServicePayment};

pub fn claim_detail(claim: &ClaimPayment) -> Value {
    json!({
        "patientControlNumber": claim.patient_control_number,
        "status": claim.status,
        "charge": json_amount(claim.charge),
        "paid": json_amount(claim.paid),
        "patientResponsibility": claim.patient_responsibility.map(json_amount),
        "filingIndicator": claim.filing_indicator,
        "payerClaimControlNumber": claim.payer_claim_control_number,
        "facilityCode": claim.facility_code,
        "frequency": claim.frequency,
        "adjustments": adjustments(&claim.adjustments),
        "patient": claim.patient.as_ref().map(entity),
        "insured": claim.insured.as_ref().map(entity),
        "renderingProvider": claim.rendering_provider.as_ref().map(entity),
        "statementFrom": date(claim.statement_from),
        "statementTo": date(claim.statement_to),
        "amounts": claim.amounts.iter()
            .map(|a| json!({"qualifier": a.qualifier, "amount": json_amount(a.amount)}))
            .collect::<Vec<_>>(),
        "lines": claim.lines.iter().map(line).collect::<Vec<_>>(),
    })
}

fn line(line: &ServicePayment) -> Value {
    json!({
        "procedure": procedure(&line.procedure),
        "charge": json_amount(line.charge),
        "paid": json_amount(line.paid),
        "revenueCode": line.revenue_code,
        "units": json_amount(line.units),
        "submittedProcedure": line.submitted_procedure.as_ref().map(procedure),
        "serviceDate": date(line.service_date),
        "serviceFrom": date(line.service_from),
        "serviceTo": date(line.service_to),
        "adjustments": adjustments(&line.adjustments),
        "allowed": line.allowed.map(json_amount),
        "remarkCodes": line.remark_codes,
        "lineItemControlNumber": line.line_item_control_number,
    })
}

fn adjustments(adjustments: &[Adjustment]) -> Vec<Value> {
    adjustments
        .iter()
        .map(|a| {
            json!({
                "group": a.group.code(),
                "reason": a.reason,
                "amount": json_amount(a.amount),
                "quantity": a.quantity.map(json_amount),
            })
        })
        .collect()
}

fn procedure(procedure: &Procedure) -> Value {
    json!({"qualifier": procedure.qualifier, "code": procedure.code, "modifiers": procedure.modifiers})
}

fn entity(name: &EntityName) -> Value {
    json!({
        "name": name.name,
        "first": name.first,
        "middle": name.middle,
        "idQualifier": name.id_qualifier,
        "id": name.id,
    })
}

fn date(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_keeps_what_the_payer_said() {
        let text = crate::x12::test_fixtures::fixture("835_005010X221A1__secondary-payment.835");
        let remittance = crate::x12::read_835(&text).unwrap().remove(0);
        let detail = claim_detail(remittance.claims().nth(1).unwrap());
        assert_eq!(detail["patientControlNumber"], "0001000053");
        assert_eq!(detail["patient"]["name"], "BAKI");
        assert_eq!(detail["lines"][1]["procedure"]["code"], "66543");
        assert_eq!(detail["lines"][1]["adjustments"][1]["reason"], "2");
        assert_eq!(
            detail["lines"][1]["adjustments"][1]["amount"].to_string(),
            "70.00"
        );
        assert_eq!(detail["lines"][0]["serviceDate"], "2005-01-06");
    }
}
