//! One page of a paginated list, with the server's total from `X-Total-Count`.

use serde::Serialize;

/// One page of a list (`page` and `limit` as asked, `total` from `X-Total-Count`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The 1-based page number that was asked for.
    pub page: u32,
    /// The page size that was asked for (the server may cap it, 50 by default).
    pub limit: u32,
    /// The number of items in all pages, when the server sent `X-Total-Count`.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// True when a later page has items: from the total when known, otherwise when this
    /// page is full.
    pub fn has_more(&self) -> bool {
        match self.total {
            Some(total) => {
                let seen = u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
                    + self.items.len() as u64;
                seen < total && !self.items.is_empty()
            }
            None => !self.items.is_empty() && self.items.len() >= self.limit as usize,
        }
    }

    /// The number of the next page, when [`Page::has_more`].
    pub fn next_page(&self) -> Option<u32> {
        self.has_more().then(|| self.page.saturating_add(1))
    }
}

/// Parses an `X-Total-Count` header value.
pub(crate) fn total_count(value: Option<&str>) -> Option<u64> {
    value?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: u32, limit: u32, n: usize, total: Option<u64>) -> Page<u8> {
        Page {
            items: vec![0; n],
            page,
            limit,
            total,
        }
    }

    #[test]
    fn has_more_from_total_or_fullness() {
        assert_eq!(page(1, 3, 3, Some(5)).next_page(), Some(2));
        assert_eq!(page(2, 3, 2, Some(5)).next_page(), None);
        assert_eq!(page(1, 3, 3, None).next_page(), Some(2));
        assert_eq!(page(1, 3, 2, None).next_page(), None);
        // A server capping the limit: 50 asked, 30 served, 100 in all.
        assert!(page(1, 50, 30, Some(100)).has_more());
        assert!(!page(7, 3, 0, Some(100)).has_more());
    }

    #[test]
    fn total_count_header() {
        assert_eq!(total_count(Some("214")), Some(214));
        assert_eq!(total_count(Some(" 5 ")), Some(5));
        assert_eq!(total_count(Some("-1")), None);
        assert_eq!(total_count(Some("lots")), None);
        assert_eq!(total_count(None), None);
    }
}
