//! Billing's guard on clients' FHIR changes of a Claim. An EHR's `PUT`, `PATCH` or
//! `DELETE` of a claim a submission may be sending would never reach the
//! clearinghouse (the submission records the claim as it was sent), so it is
//! fenced off as a biller's correction is: 409 while the submission is running or
//! its upload may be with a clearinghouse, and otherwise the claim's live
//! submission job is held until the change commits, to start on the changed claim.

use futures_util::future::BoxFuture;

use crate::billing::dispatch::hold_submission_for_change;
use crate::fhir::change_guard::ChangeGuard;
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::store::Session;

pub struct SubmissionFence;

impl ChangeGuard for SubmissionFence {
    fn resource_type(&self) -> ResourceType {
        ResourceType::Claim
    }

    fn before_change<'a>(
        &'a self,
        session: &'a mut Session,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), FhirError>> {
        Box::pin(hold_submission_for_change(session, id))
    }
}
