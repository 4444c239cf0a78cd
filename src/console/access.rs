//! Who is at the console and what they may do there, from the roles their token
//! grants (`Principal::has_role`):
//!
//! | role    | reads                         | changes                                         |
//! |---------|-------------------------------|-------------------------------------------------|
//! | admin   | everything                    | everything: integrations, HL7 reprocessing, claims |
//! | biller  | everything                    | claims and HL7 reprocessing; integrations read-only (the attempt log explains a claim's route) |
//! | auditor | everything                    | nothing                                         |
//!
//! Pages hide the controls a viewer may not use, and every action checks again
//! ([`Viewer::refusal`]): a hidden button is not a permission.

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::auth::scopes::Role;
use crate::auth::Principal;

/// What a console action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Any page.
    Read,
    /// Add, edit, enable, disable, reorder and test integrations.
    ManageIntegrations,
    /// Apply a stored HL7 message again.
    ReprocessHl7,
    /// Resubmit, resolve, assign claims.
    WorkClaims,
}

/// The signed-in person, as the session middleware verified them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    /// What the header shows: the user's display name.
    pub name: String,
    /// Authorization is disabled (loopback development): no sign-out.
    pub anonymous: bool,
}

impl Viewer {
    fn has(&self, role: Role) -> bool {
        self.principal.has_role(role)
    }

    /// Whether the viewer has any console role at all.
    pub fn has_console_role(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Biller) || self.has(Role::Auditor)
    }

    pub fn may(&self, permission: Permission) -> bool {
        match permission {
            Permission::Read => self.has_console_role(),
            Permission::ManageIntegrations => self.has(Role::Admin),
            Permission::ReprocessHl7 | Permission::WorkClaims => {
                self.has(Role::Admin) || self.has(Role::Biller)
            }
        }
    }

    /// The 403 page when the viewer may not; `None` when they may.
    pub fn refusal(&self, permission: Permission) -> Option<HttpResponse> {
        (!self.may(permission))
            .then(|| super::layout::forbidden(Some(self), "Your role does not allow this action."))
    }

    /// The roles, as the header lists them.
    pub fn roles(&self) -> Vec<&'static str> {
        [
            (Role::Admin, "admin"),
            (Role::Biller, "biller"),
            (Role::Auditor, "auditor"),
        ]
        .into_iter()
        .filter(|(role, _)| self.has(*role))
        .map(|(_, name)| name)
        .collect()
    }
}

/// Handlers under the session middleware take the viewer as an argument.
impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = Ready<Result<Viewer, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Viewer>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("no console session")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::Scopes;

    fn viewer(scopes: &str) -> Viewer {
        Viewer {
            principal: Principal {
                scopes: Scopes::parse(scopes).unwrap(),
                ..Principal::unrestricted()
            },
            name: "Pat".into(),
            anonymous: false,
        }
    }

    #[test]
    fn roles_grant_what_the_table_says() {
        let admin = viewer("admin");
        let biller = viewer("biller online_access");
        let auditor = viewer("auditor");
        let nobody = viewer("user/*.rs");
        for permission in [
            Permission::Read,
            Permission::ManageIntegrations,
            Permission::ReprocessHl7,
            Permission::WorkClaims,
        ] {
            assert!(admin.may(permission), "{permission:?}");
            assert!(!nobody.may(permission), "{permission:?}");
        }
        assert!(biller.may(Permission::Read));
        assert!(!biller.may(Permission::ManageIntegrations));
        assert!(biller.may(Permission::ReprocessHl7));
        assert!(biller.may(Permission::WorkClaims));
        assert!(auditor.may(Permission::Read));
        assert!(!auditor.may(Permission::ManageIntegrations));
        assert!(!auditor.may(Permission::ReprocessHl7));
        assert!(!auditor.may(Permission::WorkClaims));
        assert_eq!(viewer("auditor admin").roles(), vec!["admin", "auditor"]);
    }
}
