//! A request's parameters as Stripe reads them: form pairs (POST bodies) or query
//! pairs (GET), with nested names in bracket notation (`metadata[claim_id]`).

use std::collections::BTreeMap;

use actix_web::web::Query;

#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Reads `a=1&metadata[b]=2`; `None` when it is not URL-encoded pairs.
    pub fn read(text: &str) -> Option<Params> {
        Query::<Vec<(String, String)>>::from_query(text)
            .ok()
            .map(|pairs| Params(pairs.into_inner()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every `name[key]=value` as `key → value`.
    pub fn nested(&self, name: &str) -> BTreeMap<String, String> {
        let prefix = format!("{name}[");
        self.0
            .iter()
            .filter_map(|(key, value)| {
                let inner = key.strip_prefix(&prefix)?.strip_suffix(']')?;
                Some((inner.to_owned(), value.clone()))
            })
            .collect()
    }

    /// The first parameter whose name is not among `allowed` (exact names, or
    /// prefixes ending in `[` for nested ones): Stripe refuses unknown parameters.
    pub fn unknown(&self, allowed: &[&str]) -> Option<&str> {
        self.0.iter().map(|(key, _)| key.as_str()).find(|key| {
            !allowed.iter().any(|name| {
                if name.ends_with('[') {
                    key.starts_with(name)
                } else {
                    key == name
                }
            })
        })
    }

    /// The parameters in a canonical order, to compare a retry with the first
    /// request made with its idempotency key.
    pub fn fingerprint(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_and_order_does_not_change_the_fingerprint() {
        let a = Params::read("amount=100&metadata%5Bclaim_id%5D=C1&metadata[patient_id]=P1").unwrap();
        assert_eq!(a.get("amount"), Some("100"));
        let metadata = a.nested("metadata");
        assert_eq!(metadata["claim_id"], "C1");
        assert_eq!(metadata["patient_id"], "P1");
        let b = Params::read("metadata[patient_id]=P1&metadata[claim_id]=C1&amount=100").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.unknown(&["amount", "metadata["]), None);
        assert_eq!(a.unknown(&["amount"]), Some("metadata[claim_id]"));
    }
}
