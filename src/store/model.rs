//! What the storage API takes and returns: plain data, no diesel types, no HTTP.

use chrono::{DateTime, Utc};

/// The organisation data belongs to. Every resource, each of its versions and each
/// of its index rows carries one, and every statement over them names it, so one
/// tenant's requests can neither see nor change another's resources. Resource ids
/// stay unique across tenants (one pool, as in HAPI's partitioning): a reference
/// `Patient/1` means one resource whichever tenant holds it.
///
/// The FHIR API takes it from the access token's `tenant` claim (the client's
/// registration); without authorization it is the default tenant, and billing,
/// HL7 ingest and jobs work in the default tenant (README, Tenants).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant of data written before tenants existed, and of single-organisation
    /// deployments.
    pub const DEFAULT: &'static str = crate::integrations::registry::DEFAULT_TENANT;

    pub fn new(name: impl Into<String>) -> Self {
        Tenant(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

impl Default for Tenant {
    fn default() -> Self {
        Tenant(Self::DEFAULT.to_owned())
    }
}

impl std::fmt::Display for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of write that produced a version, as recorded in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    Create,
    Update,
    Patch,
    Delete,
}

impl WriteMethod {
    /// The HTTP verb a history Bundle reports for a version written this way.
    pub fn http_verb(self) -> &'static str {
        match self {
            WriteMethod::Create => "POST",
            WriteMethod::Update => "PUT",
            WriteMethod::Patch => "PATCH",
            WriteMethod::Delete => "DELETE",
        }
    }

    pub fn from_http_verb(verb: &str) -> Option<Self> {
        [Self::Create, Self::Update, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.http_verb() == verb)
    }
}

/// The current state of one logical resource.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentResource {
    pub version_id: i64,
    pub last_updated: DateTime<Utc>,
    pub deleted: bool,
    /// JSON of the current version (for a deleted resource: its last live version).
    pub body: String,
}

/// One version from history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub change_seq: i64,
    pub res_type: String,
    pub id: String,
    pub version_id: i64,
    pub last_updated: DateTime<Utc>,
    pub method: WriteMethod,
    /// `None` for a deletion.
    pub body: Option<String>,
}

/// Which versions a history query covers.
#[derive(Debug, Clone, Copy)]
pub enum HistoryScope<'a> {
    System,
    Type(&'a str),
    Instance(&'a str, &'a str),
}

/// A history page request: newest first, keyset-paged on the change counter.
#[derive(Debug, Clone, Copy)]
pub struct HistoryQuery<'a> {
    pub scope: HistoryScope<'a>,
    pub since: Option<DateTime<Utc>>,
    /// Only versions older than this change (the cursor of the next page).
    pub before_change: Option<i64>,
    pub limit: i64,
}

/// A write asked of the store.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    pub res_type: &'a str,
    pub id: &'a str,
    pub method: WriteMethod,
    /// `If-Match`: the version the client last saw; the write fails if it is stale.
    pub if_match: Option<i64>,
}

/// The identity the store gives a new version, handed to the caller so it can embed
/// `meta.versionId` / `meta.lastUpdated` in the body it stores.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion {
    pub version_id: i64,
    pub last_updated: DateTime<Utc>,
}

/// A create inside a transaction whose rows are written with the next statement
/// that needs them: a server-minted id cannot collide, so nothing has to be read
/// first, and many creates go to the database as one multi-row INSERT per table.
#[derive(Debug)]
pub struct StagedCreate {
    pub res_type: String,
    pub res_id: String,
    pub last_updated: DateTime<Utc>,
    pub rendered: RenderedVersion,
}

/// The body of a new version and the search-index values extracted from it.
#[derive(Debug, Clone, Default)]
pub struct RenderedVersion {
    pub body: String,
    pub index: SearchIndexEntries,
}

/// Searchable values of one resource version, written in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct SearchIndexEntries {
    pub tokens: Vec<TokenEntry>,
    pub strings: Vec<StringEntry>,
    pub dates: Vec<DateEntry>,
    pub quantities: Vec<QuantityEntry>,
    pub references: Vec<ReferenceEntry>,
    pub uris: Vec<UriEntry>,
}

/// A token value (code, identifier, boolean…) of one search parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEntry {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringEntry {
    pub param: String,
    /// Case- and accent-folded, for starts-with and contains.
    pub normalized: String,
    pub exact: String,
}

/// The inclusive instant range a date value denotes.
#[derive(Debug, Clone, PartialEq)]
pub struct DateEntry {
    pub param: String,
    pub low: DateTime<Utc>,
    pub high: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantityEntry {
    pub param: String,
    pub value: f64,
    pub system: Option<String>,
    pub code: Option<String>,
    pub unit: Option<String>,
}

/// A reference: to a local resource (`target_type`/`target_id`), to an absolute URL,
/// and/or to a logical identifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceEntry {
    pub param: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_url: Option<String>,
    pub identifier_system: Option<String>,
    pub identifier_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UriEntry {
    pub param: String,
    pub uri: String,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub version_id: i64,
    pub last_updated: DateTime<Utc>,
    /// True when no live version existed before (create, or update-as-create).
    pub created: bool,
    /// The stored body; `None` for a deletion.
    pub body: Option<String>,
}

/// A resource found by a search or an include.
#[derive(Debug, Clone)]
pub struct FoundResource {
    pub res_type: String,
    pub id: String,
    pub last_updated: DateTime<Utc>,
    pub body: String,
}
