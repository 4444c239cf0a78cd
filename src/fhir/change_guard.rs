//! Guards on clients' changes through the FHIR API, as HAPI FHIR's interceptors
//! are: another part of the server (billing) is asked before a resource of the
//! type it watches is updated, patched or deleted, and may refuse. Changes the
//! server makes itself (billing's own moves of a claim) do not pass here.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::Session;

pub trait ChangeGuard: Send + Sync {
    /// The type whose changes the guard is asked about.
    fn resource_type(&self) -> ResourceType;

    /// Allows changing `id`, or refuses with the error the client gets. It runs in
    /// the change's own transaction: what it locks stays locked until the change
    /// commits.
    fn before_change<'a>(
        &'a self,
        session: &'a mut Session,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), FhirError>>;

    /// Called once `id` was updated or patched through `service`, in the same
    /// transaction, for what follows from the new version; an error rolls the
    /// change back.
    fn after_change<'a>(
        &'a self,
        service: &'a ResourceService,
        session: &'a mut Session,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), FhirError>>;
}

/// The guards one FHIR API asks.
#[derive(Clone, Default)]
pub struct ChangeGuards(Vec<Arc<dyn ChangeGuard>>);

impl ChangeGuards {
    pub fn new(guards: Vec<Arc<dyn ChangeGuard>>) -> Self {
        ChangeGuards(guards)
    }

    /// The guards of `resource_type`'s changes.
    fn of(&self, resource_type: ResourceType) -> impl Iterator<Item = &Arc<dyn ChangeGuard>> {
        self.0
            .iter()
            .filter(move |guard| guard.resource_type() == resource_type)
    }

    /// Whether changes of `resource_type` are guarded. They then run in a
    /// transaction of their own, which the guard's checks are part of.
    pub fn watch(&self, resource_type: ResourceType) -> bool {
        self.of(resource_type).next().is_some()
    }

    /// Asks each guard of `resource_type` about changing `id`.
    pub async fn check(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<(), FhirError> {
        for guard in self.of(resource_type) {
            if !session.in_transaction() {
                return Err(FhirError::Internal(format!(
                    "a guarded change of {resource_type} must run in a transaction"
                )));
            }
            guard.before_change(session, id).await?;
        }
        Ok(())
    }

    /// Tells each guard of `resource_type` that `id` was updated or patched.
    pub async fn after(
        &self,
        service: &ResourceService,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<(), FhirError> {
        for guard in self.of(resource_type) {
            guard.after_change(service, session, id).await?;
        }
        Ok(())
    }

    /// `check` for the resource a conditional change's `query` matches or, when
    /// none does, for `otherwise`: the id a conditional update then writes (the
    /// body's), which may name a stored resource. With neither, nothing stored
    /// changes and no guard is asked.
    pub async fn check_matching(
        &self,
        service: &ResourceService,
        session: &mut Session,
        resource_type: ResourceType,
        query: &str,
        otherwise: Option<&str>,
    ) -> Result<(), FhirError> {
        if !self.watch(resource_type) {
            return Ok(());
        }
        let matched = service.single_match(session, resource_type, query).await?;
        match matched.as_deref().or(otherwise) {
            Some(id) => self.check(session, resource_type, id).await,
            None => Ok(()),
        }
    }
}
