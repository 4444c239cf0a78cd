//! JSON Pointer lookups (RFC 6901) that allocate nothing.
//!
//! `serde_json::Value::pointer` builds two new strings for every token of a path
//! (it unescapes `~1` and `~0` whether or not the token holds any), and billing
//! reads every Claim through dozens of such paths: `perf` on the server during the
//! claims batch put `pointer` at 14% of its CPU (BENCHMARKS.md, issue 5).

use serde_json::Value;

pub trait Pointer {
    /// The value `pointer` names, as `Value::pointer` finds it.
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl Pointer for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        pointer
            .strip_prefix('/')?
            .split('/')
            .try_fold(self, |target, token| {
                if token.contains('~') {
                    // An escaped token: rare enough to leave to serde_json.
                    return target.pointer(&format!("/{token}"));
                }
                match target {
                    Value::Object(map) => map.get(token),
                    Value::Array(list) => array_index(token).and_then(|index| list.get(index)),
                    _ => None,
                }
            })
    }
}

/// An array index token: digits, without a sign or a leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_what_serde_json_finds() {
        let value = json!({
            "a": {"b": [10, {"c": "deep"}]},
            "a/b": 1,
            "m~n": 2,
            "": 3,
            "01": 4,
        });
        for pointer in [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c",
            "/a/b/2",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/-1",
            "/a~1b",
            "/m~0n",
            "/01",
            "/a/b/1/c/d",
            "a",
            "/missing",
            "/a/b/x",
        ] {
            assert_eq!(value.at(pointer), value.pointer(pointer), "pointer {pointer:?}");
        }
        assert_eq!(value.at("/a/b/1/c"), Some(&json!("deep")));
        assert_eq!(value.at("/a~1b"), Some(&json!(1)));
        assert_eq!(value.at("/a/b/01"), None);
    }
}
