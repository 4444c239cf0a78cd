//! Reads an 835 transaction set segment by segment. The 835's loops are implied by
//! segment order (N1 opens a party, LX a claim group, CLP a claim, SVC a line), so
//! the reader tracks which loop it is in and files each segment there.

use chrono::NaiveDate;

use super::{
    Adjustment, AdjustmentGroup, Amount, ClaimGroup, ClaimPayment, CreditDebit, Party, Payment,
    ProviderAdjustment, Reference, Remittance, ServicePayment, Trace,
};
use crate::x12::entity::EntityName;
use crate::x12::error::{Problem, ReadError};
use crate::x12::procedure::procedure;
use crate::x12::segment::Segment;
use crate::x12::transaction::{TransactionHeader, TransactionReader};

/// The loop the last segment opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loop {
    Header,
    Payer,
    Payee,
    /// N1 loops other than PR and PE have nothing we keep.
    OtherParty,
    Group,
    Claim,
    Line,
}

pub(super) struct RemittanceReader {
    control_number: String,
    payment: Option<Payment>,
    trace: Option<Trace>,
    production_date: Option<NaiveDate>,
    payer: Option<Party>,
    payee: Option<Party>,
    groups: Vec<ClaimGroup>,
    provider_adjustments: Vec<ProviderAdjustment>,
    problems: Vec<ReadError>,
    current: Loop,
}

impl<'a> TransactionReader<'a> for RemittanceReader {
    type Output = Remittance;
    const SET_ID: &'static str = "835";

    fn start(header: &TransactionHeader<'a>) -> Self {
        RemittanceReader {
            control_number: header.control_number.to_string(),
            payment: None,
            trace: None,
            production_date: None,
            payer: None,
            payee: None,
            groups: Vec::new(),
            provider_adjustments: Vec::new(),
            problems: Vec::new(),
            current: Loop::Header,
        }
    }

    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError> {
        match segment.id {
            "BPR" => self.payment = Some(payment(segment, &mut self.problems)?),
            "TRN" if self.current == Loop::Header => {
                self.trace = Some(Trace {
                    number: segment.required(2)?.to_string(),
                    originator: segment.required(3)?.to_string(),
                })
            }
            "N1" => self.party(segment)?,
            "REF" => self.reference(segment)?,
            "DTM" => self.date(segment)?,
            "LX" => {
                self.groups.push(ClaimGroup {
                    number: segment.required(1)?.to_string(),
                    claims: Vec::new(),
                });
                self.current = Loop::Group;
            }
            "CLP" => {
                let claim = claim(segment)?;
                self.groups
                    .last_mut()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("CLP before any LX")))?
                    .claims
                    .push(claim);
                self.current = Loop::Claim;
            }
            "CAS" => {
                let adjustments = adjustments(segment)?;
                match self.current {
                    Loop::Line => self.line(segment)?.adjustments.extend(adjustments),
                    _ => self.claim(segment)?.adjustments.extend(adjustments),
                }
            }
            "NM1" if self.current == Loop::Claim => {
                let name = EntityName::from_nm1(segment)?;
                let claim = self.claim(segment)?;
                match name.entity.as_str() {
                    "QC" => claim.patient = Some(name),
                    "IL" => claim.insured = Some(name),
                    "82" => claim.rendering_provider = Some(name),
                    // TT crossover carrier, PR corrected payer, 74 corrected insured:
                    // nothing posting needs.
                    _ => {}
                }
            }
            "AMT" => {
                let amount = Amount {
                    qualifier: segment.required(1)?.to_string(),
                    amount: segment.amount(2)?,
                };
                match self.current {
                    Loop::Line if amount.qualifier == "B6" => {
                        self.line(segment)?.allowed = Some(amount.amount)
                    }
                    Loop::Line => {}
                    _ => self.claim(segment)?.amounts.push(amount),
                }
            }
            "SVC" => {
                let line = service_line(segment, &mut self.problems)?;
                self.claim(segment)?.lines.push(line);
                self.current = Loop::Line;
            }
            "LQ" if self.current == Loop::Line && segment.value(1) == "HE" => {
                let code = segment.required(2)?.to_string();
                self.line(segment)?.remark_codes.push(code);
            }
            "MOA" | "MIA" if self.current == Loop::Claim => {
                let positions: &[usize] = if segment.id == "MOA" {
                    &[3, 4, 5, 6, 7]
                } else {
                    &[5, 20, 21, 22, 23]
                };
                let codes = positions.iter().filter_map(|&at| segment.optional_string(at));
                self.claim(segment)?.remark_codes.extend(codes);
            }
            "PLB" => self.provider_adjustments.extend(provider_adjustments(segment)?),
            // N3/N4/PER addresses and contacts, TS3/TS2 provider summaries, the
            // amounts of MIA/MOA, QTY, RDM: not needed for posting.
            _ => {}
        }
        Ok(())
    }

    fn finish(self, trailer: &Segment<'a>) -> Result<Remittance, ReadError> {
        let missing = |id| trailer.error(Problem::MissingSegment(id));
        Ok(Remittance {
            control_number: self.control_number,
            payment: self.payment.ok_or_else(|| missing("BPR"))?,
            trace: self.trace.ok_or_else(|| missing("TRN"))?,
            production_date: self.production_date,
            payer: self.payer.ok_or_else(|| missing("N1*PR"))?,
            payee: self.payee.ok_or_else(|| missing("N1*PE"))?,
            groups: self.groups,
            provider_adjustments: self.provider_adjustments,
            problems: self.problems,
        })
    }
}

impl RemittanceReader {
    fn party(&mut self, segment: &Segment<'_>) -> Result<(), ReadError> {
        let [role, name, qualifier, id] = segment.values::<4>();
        let party = Party {
            name: name.to_string(),
            identifier: (!qualifier.is_empty() && !id.is_empty()).then(|| Reference {
                qualifier: qualifier.to_string(),
                value: id.to_string(),
            }),
            references: Vec::new(),
        };
        self.current = match role {
            "PR" => {
                self.payer = Some(party);
                Loop::Payer
            }
            "PE" => {
                self.payee = Some(party);
                Loop::Payee
            }
            "" => return Err(segment.element_error(1, Problem::Missing)),
            _ => Loop::OtherParty,
        };
        Ok(())
    }

    fn reference(&mut self, segment: &Segment<'_>) -> Result<(), ReadError> {
        let reference = || -> Result<Reference, ReadError> {
            Ok(Reference {
                qualifier: segment.required(1)?.to_string(),
                value: segment.required(2)?.to_string(),
            })
        };
        match self.current {
            Loop::Payer => push_reference(self.payer.as_mut(), reference()?),
            Loop::Payee => push_reference(self.payee.as_mut(), reference()?),
            Loop::Line if segment.value(1) == "6R" => {
                let value = segment.required(2)?.to_string();
                self.line(segment)?.line_item_control_number = Some(value);
            }
            // Header REFs (EV receiver, F2 version), claim REFs (1L group, EA record,
            // F8 original reference…) and other line REFs are not kept.
            _ => {}
        }
        Ok(())
    }

    fn date(&mut self, segment: &Segment<'_>) -> Result<(), ReadError> {
        let qualifier = segment.value(1);
        match (self.current, qualifier) {
            (Loop::Header, "405") => self.production_date = Some(segment.date(2)?),
            (Loop::Claim, "232") => self.claim(segment)?.statement_from = Some(segment.date(2)?),
            (Loop::Claim, "233") => self.claim(segment)?.statement_to = Some(segment.date(2)?),
            (Loop::Line, "472") => self.line(segment)?.service_date = Some(segment.date(2)?),
            (Loop::Line, "150") => self.line(segment)?.service_from = Some(segment.date(2)?),
            (Loop::Line, "151") => self.line(segment)?.service_to = Some(segment.date(2)?),
            _ => {}
        }
        Ok(())
    }

    fn claim(&mut self, segment: &Segment<'_>) -> Result<&mut ClaimPayment, ReadError> {
        self.groups
            .last_mut()
            .and_then(|group| group.claims.last_mut())
            .ok_or_else(|| segment.error(Problem::OutOfPlace("outside a claim (CLP)")))
    }

    fn line(&mut self, segment: &Segment<'_>) -> Result<&mut ServicePayment, ReadError> {
        self.claim(segment)?
            .lines
            .last_mut()
            .ok_or_else(|| segment.error(Problem::OutOfPlace("outside a service line (SVC)")))
    }
}

fn push_reference(party: Option<&mut Party>, reference: Reference) {
    if let Some(party) = party {
        party.references.push(reference);
    }
}

fn payment(segment: &Segment<'_>, problems: &mut Vec<ReadError>) -> Result<Payment, ReadError> {
    let credit_debit = match segment.required(3)? {
        "C" => CreditDebit::Credit,
        "D" => CreditDebit::Debit,
        other => {
            return Err(segment.element_error(
                3,
                Problem::UnexpectedCode {
                    found: other.to_string(),
                    expected: "C or D",
                },
            ))
        }
    };
    Ok(Payment {
        handling: segment.required(1)?.to_string(),
        amount: segment.amount(2)?,
        credit_debit,
        method: segment.required(4)?.to_string(),
        date: segment.date(16).map_err(|problem| problems.push(problem)).ok(),
    })
}

fn claim(segment: &Segment<'_>) -> Result<ClaimPayment, ReadError> {
    Ok(ClaimPayment {
        patient_control_number: segment.required(1)?.to_string(),
        status: segment.required(2)?.to_string(),
        charge: segment.amount(3)?,
        paid: segment.amount(4)?,
        patient_responsibility: segment.optional_amount(5)?,
        filing_indicator: segment.required(6)?.to_string(),
        payer_claim_control_number: segment.optional_string(7),
        facility_code: segment.optional_string(8),
        frequency: segment.optional_string(9),
        adjustments: Vec::new(),
        patient: None,
        insured: None,
        rendering_provider: None,
        statement_from: None,
        statement_to: None,
        amounts: Vec::new(),
        remark_codes: Vec::new(),
        lines: Vec::new(),
    })
}

/// CAS: a group code, then up to six reason/amount/quantity triplets.
fn adjustments(segment: &Segment<'_>) -> Result<Vec<Adjustment>, ReadError> {
    let group_code = segment.required(1)?;
    let group = AdjustmentGroup::from_code(group_code).ok_or_else(|| {
        segment.element_error(
            1,
            Problem::UnexpectedCode {
                found: group_code.to_string(),
                expected: "CO, PR, OA, PI or CR",
            },
        )
    })?;
    let mut adjustments = Vec::new();
    for triplet in 0..6 {
        let reason_at = 2 + 3 * triplet;
        let Some(reason) = segment.optional(reason_at) else {
            // An amount without its reason cannot be posted as anything.
            if segment.optional(reason_at + 1).is_some() {
                return Err(segment.element_error(reason_at, Problem::Missing));
            }
            continue;
        };
        adjustments.push(Adjustment {
            group,
            reason: reason.to_string(),
            amount: segment.amount(reason_at + 1)?,
            quantity: segment.optional_amount(reason_at + 2)?,
        });
    }
    if adjustments.is_empty() {
        return Err(segment.element_error(2, Problem::Missing));
    }
    Ok(adjustments)
}

fn service_line(segment: &Segment<'_>, problems: &mut Vec<ReadError>) -> Result<ServicePayment, ReadError> {
    Ok(ServicePayment {
        procedure: procedure(segment, 1, problems)?,
        charge: segment.amount(2)?,
        paid: segment.amount(3)?,
        revenue_code: segment.optional_string(4),
        units: segment.optional_amount(5)?.unwrap_or(rust_decimal::Decimal::ONE),
        submitted_procedure: match segment.optional(6) {
            Some(_) => Some(procedure(segment, 6, problems)?),
            None => None,
        },
        service_date: None,
        service_from: None,
        service_to: None,
        adjustments: Vec::new(),
        allowed: None,
        remark_codes: Vec::new(),
        line_item_control_number: None,
    })
}

/// PLB: provider id, fiscal period end, then up to six reason/amount pairs.
fn provider_adjustments(segment: &Segment<'_>) -> Result<Vec<ProviderAdjustment>, ReadError> {
    let provider_id = segment.required(1)?;
    let fiscal_period_end = segment.date(2)?;
    let mut adjustments = Vec::new();
    for pair in 0..6 {
        let reason_at = 3 + 2 * pair;
        let Some(element) = segment.element(reason_at).filter(|e| !e.as_str().is_empty()) else {
            if segment.optional(reason_at + 1).is_some() {
                return Err(segment.located_error(reason_at, Some(1), Problem::Missing));
            }
            continue;
        };
        let reason = element.component(1);
        if reason.is_empty() {
            return Err(segment.located_error(reason_at, Some(1), Problem::Missing));
        }
        adjustments.push(ProviderAdjustment {
            provider_id: provider_id.to_string(),
            fiscal_period_end,
            reason: reason.to_string(),
            reference: Some(element.component(2))
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            amount: segment.amount(reason_at + 1)?,
        });
    }
    if adjustments.is_empty() {
        return Err(segment.element_error(3, Problem::Missing));
    }
    Ok(adjustments)
}
