//! Forgejo's `null` for "nothing" (`"topics": null`, a missing account): read as the default.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` as `T::default()`; with `#[serde(default)]` a missing key too.
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(default, deserialize_with = "super::or_default")]
        topics: Vec<String>,
        #[serde(default, deserialize_with = "super::or_default")]
        name: String,
    }

    #[test]
    fn null_and_missing_are_the_default() {
        let t: T = serde_json::from_str(r#"{"topics":null}"#).unwrap();
        assert_eq!(
            t,
            T {
                topics: vec![],
                name: String::new()
            }
        );
        let t: T = serde_json::from_str(r#"{"topics":["a"],"name":"n"}"#).unwrap();
        assert_eq!(t.topics, ["a"]);
        assert_eq!(t.name, "n");
    }
}
