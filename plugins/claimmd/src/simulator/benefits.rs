//! The simulator's answer to a 270: a 271 saying the subscriber has active coverage
//! (EB*1) for health benefit plan coverage (service type 30), echoing the inquiry's
//! payer, provider, subscriber and trace number as a 271 must.

use chrono::NaiveDateTime;

use super::remit::SIMULATOR_ID;
use super::x12::{interchange, Envelope, InquiryRead};

pub(crate) fn write_271(inquiry: &InquiryRead, control: u64, at: NaiveDateTime) -> String {
    let mut body = vec![
        format!(
            "BHT*0022*11*{}*{}*{}",
            inquiry.reference,
            at.format("%Y%m%d"),
            at.format("%H%M")
        ),
        "HL*1**20*1".to_owned(),
        format!("NM1*PR*2*{}*****PI*{}", inquiry.payer.last, inquiry.payer.id),
        "HL*2*1*21*1".to_owned(),
        format!(
            "NM1*1P*2*{}*****XX*{}",
            inquiry.provider.last, inquiry.provider.id
        ),
        "HL*3*2*22*0".to_owned(),
    ];
    if let Some(trace) = &inquiry.trace {
        body.push(format!("TRN*2*{trace}*9{SIMULATOR_ID}"));
    }
    body.push(format!(
        "NM1*IL*1*{}*{}****MI*{}",
        inquiry.subscriber.last, inquiry.subscriber.first, inquiry.subscriber.id
    ));
    body.push("EB*1**30**SIMULATED PLAN".to_owned());
    interchange(
        &Envelope {
            from: &inquiry.parties.receiver,
            to: &inquiry.parties.sender,
            control,
            functional_id: "HB",
            transaction_set: "271",
            version: "005010X279A1",
            at,
        },
        &body,
    )
}
