//! A biller's corrections to a claim before it goes out again (the console's
//! fix-and-resubmit): each service line's code, modifiers, units and charge, and the
//! claim's diagnosis codes. Applied to the stored Claim's JSON, whose total follows
//! its lines, so the next scrub judges the corrected claim as a whole.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::billing::from_fhir::{DiagnosisSequences, ICD10_SYSTEM};
use crate::billing::remittance::money::json_amount;
use crate::fhir::pointer::Pointer;

/// What a line becomes; a field left `None` keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineCorrection {
    /// `Claim.item.sequence` of the line.
    pub sequence: u32,
    pub code: Option<String>,
    /// The whole list of modifiers (empty: none).
    pub modifiers: Option<Vec<String>>,
    pub units: Option<Decimal>,
    /// The line's charge (`Claim.item.net`).
    pub charge: Option<Decimal>,
}

/// Everything corrected at once.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Corrections {
    #[serde(default)]
    pub lines: Vec<LineCorrection>,
    /// The claim's billed (ICD-10-CM) diagnosis codes in order, replacing
    /// `Claim.diagnosis` (sequence 1…); the lines' pointers follow each place.
    /// `None` keeps them.
    pub diagnoses: Option<Vec<String>>,
}

/// Why corrections cannot be applied; the path names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CorrectionError {
    pub path: String,
    pub message: String,
}

fn refused(path: String, message: &str) -> CorrectionError {
    CorrectionError {
        path,
        message: message.to_owned(),
    }
}

/// Applies `corrections` to a Claim's JSON. Codes are trimmed and upper-cased;
/// the total becomes the sum of the lines' charges.
pub fn apply(claim: &mut Value, corrections: &Corrections) -> Result<(), CorrectionError> {
    for line in &corrections.lines {
        let items = claim.get_mut("item").and_then(Value::as_array_mut);
        let Some((index, item)) =
            items.into_iter().flatten().enumerate().find(|(_, item)| {
                item.get("sequence").and_then(Value::as_u64) == Some(u64::from(line.sequence))
            })
        else {
            return Err(refused(
                format!("Claim.item.sequence={}", line.sequence),
                "the claim has no such line",
            ));
        };
        let path = |field: &str| format!("Claim.item[{index}].{field}");
        if let Some(code) = &line.code {
            let code = code.trim().to_uppercase();
            if code.is_empty() {
                return Err(refused(path("productOrService"), "a line needs a procedure code"));
            }
            item["productOrService"] = json!({"coding": [{"code": code}]});
        }
        if let Some(modifiers) = &line.modifiers {
            let codes: Vec<Value> = modifiers
                .iter()
                .map(|m| m.trim().to_uppercase())
                .filter(|m| !m.is_empty())
                .map(|m| json!({"coding": [{"code": m}]}))
                .collect();
            match codes.is_empty() {
                true => drop(item.as_object_mut().and_then(|o| o.remove("modifier"))),
                false => item["modifier"] = Value::Array(codes),
            }
        }
        if let Some(units) = line.units {
            if units <= Decimal::ZERO {
                return Err(refused(path("quantity"), "units must be more than zero"));
            }
            item["quantity"] = json!({"value": json_amount(units)});
        }
        if let Some(charge) = line.charge {
            if charge <= Decimal::ZERO {
                return Err(refused(path("net"), "the charge must be more than zero"));
            }
            // Cents, half away from zero, as every amount billing writes.
            let mut cents = charge.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            cents.rescale(2);
            item["net"] = json!({"value": json_amount(cents), "currency": "USD"});
        }
    }
    if let Some(diagnoses) = &corrections.diagnoses {
        let codes: Vec<String> = diagnoses
            .iter()
            .map(|code| code.trim().to_uppercase().replace('.', ""))
            .filter(|code| !code.is_empty())
            .collect();
        if codes.is_empty() {
            return Err(refused(
                "Claim.diagnosis".into(),
                "a claim needs at least one diagnosis",
            ));
        }
        // The lines point at diagnoses by sequence; the billed ones (ICD-10-CM,
        // in sequence order) are what a biller corrects, by place. Each pointer
        // is carried to the corrected code in its diagnosis's place; one at a
        // diagnosis not billed (SNOMED CT), which the correction drops, goes.
        let billed = DiagnosisSequences::of(claim)
            .map_err(|error| refused("Claim.diagnosis".into(), &error.to_string()))?;
        for item in claim
            .get_mut("item")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(pointers) = item.get("diagnosisSequence").and_then(Value::as_array) {
                let moved: Vec<Value> = pointers
                    .iter()
                    .map(|pointer| billed.position_of(pointer))
                    .filter(|&position| position > 0)
                    .map(Value::from)
                    .collect();
                item["diagnosisSequence"] = Value::Array(moved);
            }
        }
        claim["diagnosis"] = codes
            .iter()
            .enumerate()
            .map(|(index, code)| {
                json!({
                    "sequence": index + 1,
                    "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": code}]},
                })
            })
            .collect();
    }
    recompute_total(claim);
    Ok(())
}

/// `Claim.total` as the sum of the lines' `net`, when every line has one.
fn recompute_total(claim: &mut Value) {
    let nets: Option<Vec<Decimal>> = claim
        .get("item")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| item.at("/net/value").and_then(decimal_of))
                .collect()
        })
        .unwrap_or(None);
    if let Some(nets) = nets.filter(|nets| !nets.is_empty()) {
        let total: Decimal = nets.iter().sum();
        claim["total"] = json!({"value": json_amount(total), "currency": "USD"});
    }
}

fn decimal_of(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(number) => number.to_string().parse().ok(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> Value {
        json!({
            "resourceType": "Claim",
            "item": [
                {"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]},
                 "modifier": [{"coding": [{"code": "25"}]}],
                 "quantity": {"value": 1}, "net": {"value": 100.0, "currency": "USD"}},
                {"sequence": 2, "productOrService": {"coding": [{"code": "36415"}]},
                 "quantity": {"value": 1}, "net": {"value": 46.0, "currency": "USD"}}
            ],
            "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R05"}]}}],
            "total": {"value": 146.0, "currency": "USD"}
        })
    }

    #[test]
    fn a_line_and_the_diagnoses_change_and_the_total_follows() {
        let mut claim = claim();
        let corrections = Corrections {
            lines: vec![LineCorrection {
                sequence: 1,
                code: Some(" 99214 ".into()),
                modifiers: Some(vec![]),
                units: Some(Decimal::from(2)),
                charge: Some("150.005".parse().unwrap()),
            }],
            diagnoses: Some(vec!["j20.9".into(), " ".into(), "R05.1".into()]),
        };
        apply(&mut claim, &corrections).unwrap();
        assert_eq!(claim["item"][0]["productOrService"]["coding"][0]["code"], "99214");
        assert!(claim["item"][0].get("modifier").is_none());
        assert_eq!(claim["item"][0]["quantity"]["value"].to_string(), "2");
        // Rounded to cents half away from zero.
        assert_eq!(claim["item"][0]["net"]["value"].to_string(), "150.01");
        assert_eq!(claim["total"]["value"].to_string(), "196.01");
        assert_eq!(
            claim["diagnosis"][1]["diagnosisCodeableConcept"]["coding"][0]["code"],
            "R051"
        );
        assert_eq!(
            claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["system"],
            "http://hl7.org/fhir/sid/icd-10-cm"
        );
        assert_eq!(claim["diagnosis"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn pointers_follow_the_billed_diagnosis_in_their_place() {
        let mut claim = claim();
        claim["diagnosis"] = json!([
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "49727002"}]}},
            {"sequence": 4, "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": "R05"}]}},
            {"sequence": 7, "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": "J20"}]}}
        ]);
        claim["item"][0]["diagnosisSequence"] = json!([7, 1, 4]);
        let corrections = Corrections {
            diagnoses: Some(vec!["R05.1".into(), "J20.9".into()]),
            ..Default::default()
        };
        apply(&mut claim, &corrections).unwrap();
        // J20 was billed second, so J20.9 is; the SNOMED CT pointer is gone.
        assert_eq!(claim["item"][0]["diagnosisSequence"], json!([2, 1]));
        let coded: Vec<(&Value, &Value)> = claim["diagnosis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    &d["sequence"],
                    &d["diagnosisCodeableConcept"]["coding"][0]["system"],
                )
            })
            .collect();
        assert_eq!(
            coded,
            [
                (&json!(1), &json!(ICD10_SYSTEM)),
                (&json!(2), &json!(ICD10_SYSTEM))
            ]
        );
    }

    #[test]
    fn impossible_corrections_name_the_field() {
        let cases = [
            (
                LineCorrection {
                    sequence: 9,
                    ..Default::default()
                },
                "Claim.item.sequence=9",
            ),
            (
                LineCorrection {
                    sequence: 2,
                    units: Some(Decimal::ZERO),
                    ..Default::default()
                },
                "Claim.item[1].quantity",
            ),
            (
                LineCorrection {
                    sequence: 1,
                    code: Some("  ".into()),
                    ..Default::default()
                },
                "Claim.item[0].productOrService",
            ),
            (
                LineCorrection {
                    sequence: 1,
                    charge: Some(Decimal::from(-5)),
                    ..Default::default()
                },
                "Claim.item[0].net",
            ),
        ];
        for (line, path) in cases {
            let mut claim = claim();
            let error = apply(
                &mut claim,
                &Corrections {
                    lines: vec![line],
                    diagnoses: None,
                },
            )
            .unwrap_err();
            assert_eq!(error.path, path);
            assert_eq!(claim, self::claim(), "nothing changed for {path}");
        }
        let mut claim = claim();
        let no_diagnoses = Corrections {
            lines: vec![],
            diagnoses: Some(vec![" ".into()]),
        };
        assert_eq!(
            apply(&mut claim, &no_diagnoses).unwrap_err().path,
            "Claim.diagnosis"
        );
    }
}
