//! Query strings: `k=v` pairs, percent-decoded (`+` as a space), as both binaries read
//! them (the exporter's `collect[]`, the portal's `/api/history` parameters).

use std::borrow::Cow;

/// The decoded `(key, value)` pairs of a query string, in order; a pair without `=` has
/// an empty value.
pub fn pairs(query: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            let v = percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            (k, v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order() {
        let got: Vec<_> = pairs(Some(
            "series=filesystem.used_percent%5B%2Fhome%5D&range=24h&x&a+b=c+d",
        ))
        .map(|(k, v)| (k.into_owned(), v))
        .collect();
        assert_eq!(
            got,
            [
                ("series".into(), "filesystem.used_percent[/home]".into()),
                ("range".into(), "24h".into()),
                ("x".into(), String::new()),
                ("a+b".into(), "c d".into()),
            ]
        );
        assert_eq!(pairs(None).count(), 0);
    }
}
