//! The worklist as CSV (RFC 4180, through the `csv` crate), every claim matching
//! the filters, newest first, read a page at a time.

use crate::billing::remittance::money::from_cents;
use crate::billing::service::BillingError;
use crate::fhir::service::ResourceService;
use crate::store::worklist::WorklistRow;

use super::WorklistQuery;

/// Rows read per query while exporting.
const PAGE: i64 = 500;

/// The header row.
const COLUMNS: [&str; 8] = [
    "claim_id",
    "number",
    "state",
    "payer",
    "assignee",
    "charge",
    "created_at",
    "updated_at",
];

/// The answer that hands `text` (from [`csv`]) to the browser as a download, never
/// cached and never sniffed as anything but CSV.
pub fn response(text: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"claims.csv\""))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(text)
}

/// The CSV text of every claim the query's filters match (its paging ignored).
pub async fn csv(fhir: &ResourceService, query: &WorklistQuery) -> Result<String, BillingError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write(&mut writer, &COLUMNS.map(str::to_owned));
    let mut page = WorklistQuery {
        before: None,
        limit: PAGE,
        ..query.clone()
    };
    loop {
        let rows = super::list(fhir, &page).await?;
        for row in &rows {
            write(&mut writer, &record(row));
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => page.before = Some(last.id),
            _ => break,
        }
    }
    let bytes = writer.into_inner().expect("writing to memory does not fail");
    Ok(String::from_utf8(bytes).expect("the fields are text"))
}

fn write(writer: &mut csv::Writer<Vec<u8>>, fields: &[String]) {
    writer
        .write_record(fields)
        .expect("writing to memory does not fail");
}

fn record(row: &WorklistRow) -> [String; 8] {
    let instant = |at: &chrono::DateTime<chrono::Utc>| crate::fhir::instant(*at);
    [
        row.claim_id.clone(),
        row.patient_control_number(),
        row.state.clone(),
        neutralized(row.payer.as_deref().unwrap_or("")),
        neutralized(row.assignee.as_deref().unwrap_or("")),
        row.charge_cents
            .map(|c| from_cents(c).to_string())
            .unwrap_or_default(),
        instant(&row.created_at),
        instant(&row.updated_at),
    ]
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or carriage
/// return first) gets a leading `'`, as OWASP's CSV injection advice has it: payer
/// names and assignees are typed by people.
fn neutralized(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_fields_quoted() {
        assert_eq!(neutralized("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralized("Acme Health"), "Acme Health");
        let row = WorklistRow {
            id: 7,
            claim_id: "c-1".into(),
            state: "denied".into(),
            created_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            updated_at: chrono::DateTime::from_timestamp(60, 0).unwrap(),
            charge_cents: Some(14600),
            payer: Some("Blue, \"Cross\"".into()),
            assignee: None,
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        write(&mut writer, &record(&row));
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(
            text,
            "c-1,CB7,denied,\"Blue, \"\"Cross\"\"\",,146.00,1970-01-01T00:00:00.000Z,1970-01-01T00:01:00.000Z\n"
        );
    }
}
