//! An independent FHIR client library (`fhir-sdk`, R4B models) used exactly as its
//! documentation shows: if these pass, ordinary clients work without special cases.

use fhir_sdk::client::r4b::{ReferenceSearch, StringSearch, TokenSearch};
use fhir_sdk::client::{Client, ResourceWrite, SearchParameters};
use fhir_sdk::r4b::resources::{Claim, Coverage, Organization, Patient, Resource, ResourceType};
use fhir_sdk::version::FhirR4B;
use fhir_sdk::TryStreamExt;
use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::on_both_backends!(
    create_read_update_delete,
    transaction_then_search_with_includes_and_chains,
    paging_walks_every_match_once,
);

const MRN: &str = "http://hospital.example.org/mrn";

/// A client that logs in the way fhir-sdk does: when the server answers 401 it
/// asks its login callback for an `Authorization` header (here the admin's token).
fn client(app: &TestApp) -> Client<FhirR4B> {
    let authorization =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", app.admin_token)).unwrap();
    Client::builder()
        .base_url(format!("{}/", app.base).parse().unwrap())
        .auth_callback(move |_http| {
            let authorization = authorization.clone();
            async move { Ok::<_, std::convert::Infallible>(authorization) }
        })
        .build()
        .expect("FHIR client")
}

/// R4B models parse the R4 JSON the server speaks for these resources.
fn model<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("R4B model")
}

fn patient(family: &str, mrn: &str) -> Patient {
    model(json!({
        "resourceType": "Patient",
        "identifier": [{"system": MRN, "value": mrn}],
        "name": [{"family": family, "given": ["Ana"]}],
        "birthDate": "1980-02-29"
    }))
}

async fn create_read_update_delete(app: &TestApp) {
    let client = client(app);
    let mut created = patient("Müller", "crud-1");
    let id = created.create(&client).await.expect("create");
    assert_eq!(created.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        created.meta.as_ref().and_then(|m| m.version_id.as_deref()),
        Some("1")
    );

    let mut read: Patient = client.read(&id).await.expect("read").expect("found");
    assert_eq!(json!(read.birth_date), json!("1980-02-29"));

    read.active = Some(true);
    let created_new = read.update(true, &client).await.expect("versioned update");
    assert!(!created_new);
    let version = client.read_version::<Patient>(&id, "2").await.expect("vread");
    assert_eq!(version.and_then(|p| p.active), Some(true));

    // The stale version is refused by If-Match: the client sees an error, not a silent overwrite.
    assert!(
        created.update(true, &client).await.is_err(),
        "stale If-Match accepted"
    );

    read.delete(&client).await.expect("delete");
    assert!(client
        .read::<Patient>(&id)
        .await
        .expect("read after delete")
        .is_none());
}

async fn transaction_then_search_with_includes_and_chains(app: &TestApp) {
    let client = client(app);
    let mut transaction = client.transaction();
    let payer = transaction.create(model::<Organization>(json!({
        "resourceType": "Organization", "name": "Acme Health Plan"
    })));
    let person = transaction.create(patient("Okafor", "tx-77"));
    let coverage = transaction.create(model::<Coverage>(json!({
        "resourceType": "Coverage", "status": "active",
        "beneficiary": {"reference": person}, "payor": [{"reference": payer}]
    })));
    for created in ["2024-03-01", "2024-04-01"] {
        transaction.create(model::<Claim>(json!({
            "resourceType": "Claim", "status": "active",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
            "use": "claim", "patient": {"reference": person}, "created": created,
            "provider": {"reference": payer}, "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": coverage}}]
        })));
    }
    let response = transaction.send().await.expect("transaction");
    let statuses: Vec<_> = response
        .entry
        .iter()
        .flatten()
        .map(|entry| entry.response.as_ref().expect("entry response").status.clone())
        .collect();
    assert_eq!(statuses, vec!["201 Created"; 5]);

    let patients: Vec<Patient> = client
        .search(SearchParameters::empty().and(TokenSearch::Standard {
            name: "identifier",
            system: Some(MRN),
            code: Some("tx-77"),
            not: false,
        }))
        .await
        .expect("search by identifier")
        .all_matches()
        .try_collect()
        .await
        .expect("matches");
    assert_eq!(patients.len(), 1);
    let patient_id = patients[0].id.clone().expect("id");

    // Chained search plus _include: the client separates matches from included resources.
    let page = client
        .search::<Claim>(
            SearchParameters::empty()
                .and(ReferenceSearch::Chaining {
                    name: "patient",
                    resource_type: None,
                    target_name: "identifier",
                    value: &format!("{MRN}|tx-77"),
                })
                .and_raw("_include", "Claim:patient")
                .and_raw("_sort", "-created"),
        )
        .await
        .expect("chained search");
    let claims: Vec<&Claim> = page.matches().collect();
    assert_eq!(claims.len(), 2);
    assert_eq!(json!(claims[0].created), json!("2024-04-01"));
    let included: Vec<_> = page
        .entries()
        .filter_map(|resource| match resource {
            Resource::Patient(included) => included.id.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(included, vec![patient_id.clone()]);

    let by_reference: Vec<Coverage> = client
        .search(SearchParameters::empty().and(ReferenceSearch::Standard {
            name: "beneficiary",
            resource_type: ResourceType::Patient,
            id: &patient_id,
            version_id: None,
        }))
        .await
        .expect("search by reference")
        .all_matches()
        .try_collect()
        .await
        .expect("matches");
    assert_eq!(by_reference.len(), 1);
}

async fn paging_walks_every_match_once(app: &TestApp) {
    let client = client(app);
    let mut batch = client.batch();
    for n in 0..23 {
        batch.create(patient("Pagewalker", &format!("page-{n}")));
    }
    batch.send().await.expect("batch");

    let first = client
        .search::<Patient>(
            SearchParameters::empty()
                .and(StringSearch::Standard {
                    name: "family",
                    value: "pagewalker",
                })
                .and_raw("_count", 5),
        )
        .await
        .expect("first page");
    assert_eq!(first.matches().count(), 5);
    assert!(first.next_page_url().is_some());
    let all: Vec<Patient> = first.all_matches().try_collect().await.expect("all pages");
    let mut ids: Vec<_> = all.iter().filter_map(|p| p.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 23);
}
