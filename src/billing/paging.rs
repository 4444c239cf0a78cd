//! Keyset paging of the billing lists (`?limit=50&before=ID`, newest first): the
//! page size a request may ask for, and where the next page starts.

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// The rows a page holds: `limit` when given, kept within 1 and 500.
pub fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// `nextBefore`: the last id of a full page, which may have more after it; `None`
/// after a short page.
pub fn next_before(rows: usize, limit: i64, last_id: Option<i64>) -> Option<i64> {
    (rows as i64 == limit).then_some(last_id).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_and_continue_only_when_full() {
        assert_eq!(page_size(None), 50);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(10_000)), 500);
        assert_eq!(next_before(50, 50, Some(7)), Some(7));
        assert_eq!(next_before(49, 50, Some(7)), None);
    }
}
