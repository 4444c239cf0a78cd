//! `/console/dashboard`: the billing KPIs of a period (the figures
//! `/api/billing/dashboard/kpis` gives, defined in `billing::dashboard`) and three
//! charts drawn by uPlot from data the page carries — claims by state, the top
//! denial reasons, and the 30 days' trend of billed and collected — each with
//! its numbers in a table as well, for screen readers and for copying.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{Days, NaiveDate, Utc};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::access::Viewer;
use super::assets;
use super::layout::{self, Section};
use crate::billing::dashboard::{
    kpis, top_denial_reasons, trend, DenialReason, Kpis, TOP_REASONS, TREND_DAYS,
};
use crate::billing::period::Period;
use crate::billing::remittance::money::from_cents;
use crate::fhir::routes::FhirContext;
use crate::store::dashboard::DayFigures;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(show));
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The period asked for; by default the 30 days ending today.
fn period_of(query: &PeriodQuery) -> Result<(NaiveDate, NaiveDate), String> {
    fn given(text: &Option<String>) -> Option<&str> {
        text.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
    let period = Period::parse(given(&query.from), given(&query.to)).map_err(|error| error.to_string())?;
    let to = period.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = period.from.unwrap_or_else(|| {
        to.checked_sub_days(Days::new(u64::from(TREND_DAYS) - 1))
            .unwrap_or(to)
    });
    if from > to {
        return Err(format!("from ({from}) is after to ({to})"));
    }
    Ok((from, to))
}

async fn show(viewer: Viewer, fhir: web::Data<FhirContext>, query: web::Query<PeriodQuery>) -> HttpResponse {
    let (from, to) = match period_of(&query) {
        Ok(period) => period,
        Err(why) => {
            return layout::message(
                Some(&viewer),
                StatusCode::BAD_REQUEST,
                "Not a period",
                &why,
                Some(("/console/dashboard", "The last 30 days")),
            )
        }
    };
    let period = Period {
        from: Some(from),
        to: Some(to),
    };
    let (Some(start), Some(end)) = (period.start(), period.end()) else {
        return layout::server_error(Some(&viewer), "dashboard period", &"a day without a midnight");
    };
    let figures = async {
        let kpis = kpis(&fhir.service, start, end).await?;
        let reasons = top_denial_reasons(&fhir.service, start, end, TOP_REASONS).await?;
        let days = trend(&fhir.service, to).await?;
        Ok::<_, crate::billing::service::BillingError>((kpis, reasons, days))
    };
    let (kpis, reasons, days) = match figures.await {
        Ok(figures) => figures,
        Err(error) => return layout::server_error(Some(&viewer), "reading the dashboard", &error),
    };
    let content = html! {
        form class="filters" method="get" action="/console/dashboard" {
            div {
                label for="from" { "From" }
                input id="from" name="from" type="date" value=(from.to_string());
            }
            div {
                label for="to" { "To" }
                input id="to" name="to" type="date" value=(to.to_string());
            }
            button type="submit" { "Show" }
        }
        (figures_list(&kpis))
        (state_chart(&kpis))
        (reason_chart(&reasons))
        (trend_chart(&days))
        link rel="stylesheet" href=(assets::url("uPlot.min.css"));
        script src=(assets::url("uPlot.iife.min.js")) defer {}
        script src=(assets::url("charts.js")) defer {}
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(&viewer), Some(Section::Dashboard), "Dashboard", content),
    )
}

fn dollars(cents: i64) -> String {
    format!("${}", from_cents(cents))
}

/// A rate as a percentage with one decimal; "—" when there is none.
fn percent(rate: Option<Decimal>) -> String {
    rate.map(|rate| format!("{}%", (rate * Decimal::from(100)).round_dp(1)))
        .unwrap_or_else(|| "—".into())
}

fn figures_list(kpis: &Kpis) -> Markup {
    let figures = [
        ("Billed", dollars(kpis.billed_cents)),
        ("Collected", dollars(kpis.collected_cents)),
        ("Collection rate", percent(kpis.collection_rate)),
        ("Denial rate", percent(kpis.denial_rate)),
        (
            "Average days to pay",
            kpis.average_days_to_pay
                .map(|days| days.to_string())
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    html! {
        dl class="kpis" id="kpis" {
            @for (term, value) in &figures {
                div { dt { (term) } dd { (value) } }
            }
        }
    }
}

/// A chart: the figure uPlot draws into from `data-chart`, and the same numbers as
/// a table under it.
fn chart(id: &str, caption: &str, spec: serde_json::Value, table: Markup) -> Markup {
    html! {
        figure class="chart" id=(id) data-chart=(spec.to_string()) {
            figcaption { (caption) }
            div class="plot" aria-hidden="true" {}
            details {
                summary { "The numbers" }
                (table)
            }
        }
    }
}

fn state_chart(kpis: &Kpis) -> Markup {
    let labels: Vec<String> = kpis
        .claims_by_status
        .iter()
        .map(|(s, _)| s.replace('_', " "))
        .collect();
    let counts: Vec<i64> = kpis.claims_by_status.iter().map(|(_, n)| *n).collect();
    let spec = json!({"kind": "bars", "labels": labels, "series": [{"label": "Claims", "values": counts}]});
    let table = html! {
        table {
            thead { tr { th scope="col" { "State" } th scope="col" class="number" { "Claims" } } }
            tbody {
                @for (state, count) in &kpis.claims_by_status {
                    tr { th scope="row" { (state.replace('_', " ")) } td class="number" { (count) } }
                }
            }
        }
    };
    chart(
        "chart-states",
        "Claims entered in the period, by state now",
        spec,
        table,
    )
}

fn reason_chart(reasons: &[DenialReason]) -> Markup {
    if reasons.is_empty() {
        return html! {
            figure class="chart" id="chart-denials" {
                figcaption { "Top denial reasons" }
                p class="muted" { "No denials in the period." }
            }
        };
    }
    let labels: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    let counts: Vec<i64> = reasons.iter().map(|r| r.count).collect();
    let spec = json!({"kind": "bars", "labels": labels, "series": [{"label": "Denials", "values": counts}]});
    let table = html! {
        table {
            thead { tr { th scope="col" { "Reason" } th scope="col" { "Meaning" } th scope="col" class="number" { "Denials" } } }
            tbody {
                @for reason in reasons {
                    tr { th scope="row" class="mono" { (reason.code) } td { (reason.description) } td class="number" { (reason.count) } }
                }
            }
        }
    };
    chart("chart-denials", "Top denial reasons in the period", spec, table)
}

fn trend_chart(days: &[DayFigures]) -> Markup {
    let x: Vec<i64> = days.iter().map(|day| day.start.timestamp()).collect();
    let amount = |cents: i64| from_cents(cents).to_string().parse::<f64>().unwrap_or(0.0);
    let billed: Vec<f64> = days.iter().map(|day| amount(day.billed_cents)).collect();
    let collected: Vec<f64> = days.iter().map(|day| amount(day.collected_cents)).collect();
    let spec = json!({
        "kind": "lines",
        "x": x,
        "series": [{"label": "Billed ($)", "values": billed}, {"label": "Collected ($)", "values": collected}],
    });
    let table = html! {
        table {
            thead {
                tr {
                    th scope="col" { "Day" }
                    th scope="col" class="number" { "Billed" }
                    th scope="col" class="number" { "Collected" }
                }
            }
            tbody {
                @for day in days {
                    tr {
                        th scope="row" { (day.start.date_naive()) }
                        td class="number" { (dollars(day.billed_cents)) }
                        td class="number" { (dollars(day.collected_cents)) }
                    }
                }
            }
        }
    };
    chart(
        "chart-trend",
        "Billed and collected, the 30 days ending on the period's last day",
        spec,
        table,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_defaults_to_thirty_days_ending_today() {
        let none = PeriodQuery {
            from: None,
            to: Some(String::new()),
        };
        let (from, to) = period_of(&none).unwrap();
        assert_eq!(to, Utc::now().date_naive());
        assert_eq!((to - from).num_days(), 29);
        let given = PeriodQuery {
            from: Some("2026-01-01".into()),
            to: Some("2026-01-31".into()),
        };
        assert_eq!(
            period_of(&given).unwrap(),
            (
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()
            )
        );
        let only_from = PeriodQuery {
            from: Some("2099-01-01".into()),
            to: None,
        };
        assert!(
            period_of(&only_from).is_err(),
            "a start after today is a reversed period"
        );
        let reversed = PeriodQuery {
            from: Some("2026-02-01".into()),
            to: Some("2026-01-01".into()),
        };
        assert!(period_of(&reversed).is_err());
        assert_eq!(percent(Some("0.5616".parse().unwrap())), "56.2%");
        assert_eq!(percent(None), "—");
    }
}
