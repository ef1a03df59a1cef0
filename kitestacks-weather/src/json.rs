//! Typed access to fields of a parsed JSON document, naming the field's path on failure.
//!
//! Providers read their bodies through [`Node`] rather than `#[derive(Deserialize)]`
//! structs so that every error says which field (`current_condition[0].temp_C`) is wrong,
//! and so that wttr.in's numbers-in-strings are parsed strictly, in one place.

use serde_json::Value;

/// A field that is missing or does not hold what it must.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    /// JSON path: `current_condition[0].temp_C`.
    pub field: String,
    /// What is wrong: `missing`, `expected a number, got "warm"`.
    pub reason: String,
}

/// A position in a JSON document: the value there (if any) and its path.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> Node<'a> {
    /// The document's root.
    pub fn root(value: &'a Value) -> Node<'a> {
        Node {
            value: Some(value),
            path: String::new(),
        }
    }

    /// The member `key` of this object (absent if this is not an object).
    pub fn key(&self, key: &str) -> Node<'a> {
        Node {
            value: self.value.and_then(|v| v.get(key)),
            path: if self.path.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.path)
            },
        }
    }

    /// The element `index` of this array (absent if this is not an array).
    pub fn index(&self, index: usize) -> Node<'a> {
        Node {
            value: self.value.and_then(|v| v.get(index)),
            path: format!("{}[{index}]", self.path),
        }
    }

    /// Whether a value other than `null` is here.
    pub fn is_present(&self) -> bool {
        self.value.is_some_and(|v| !v.is_null())
    }

    /// A failure at this field.
    pub fn error(&self, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: if self.path.is_empty() {
                "(root)".to_owned()
            } else {
                self.path.clone()
            },
            reason: reason.into(),
        }
    }

    fn value(&self) -> Result<&'a Value, FieldError> {
        match self.value {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(self.error("missing")),
        }
    }

    /// The JSON string here.
    pub fn str(&self) -> Result<&'a str, FieldError> {
        let v = self.value()?;
        v.as_str()
            .ok_or_else(|| self.error(format!("expected a string, got {}", short(v))))
    }

    /// The JSON number here, as `f64` (Open-Meteo: `24` and `24.0` alike).
    pub fn number(&self) -> Result<f64, FieldError> {
        let v = self.value()?;
        v.as_f64()
            .map(|x| x + 0.0)
            .ok_or_else(|| self.error(format!("expected a number, got {}", short(v))))
    }

    /// A number written as a JSON string, as wttr.in writes them all (`"9"`, `"-0"`,
    /// `"1018"`, `"0.0"`): parsed strictly by [`decimal`], `-0` becoming `0`.
    pub fn number_string(&self) -> Result<f64, FieldError> {
        let s = self.str()?;
        decimal(s.trim())
            .map(|x| x + 0.0)
            .ok_or_else(|| self.error(format!("expected a number, got {s:?}")))
    }

    /// A whole number in 0..=65535 written as a JSON string (`"122"`).
    pub fn code_string(&self) -> Result<u16, FieldError> {
        let s = self.str()?;
        let t = s.trim();
        match t.bytes().all(|b| b.is_ascii_digit()) {
            true => t.parse().ok(),
            false => None,
        }
        .ok_or_else(|| self.error(format!("expected a code (0-65535), got {s:?}")))
    }

    /// A whole JSON number in 0..=65535 (`3`, also `3.0`).
    pub fn code(&self) -> Result<u16, FieldError> {
        let x = self.number()?;
        if x.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&x) {
            Ok(x as u16)
        } else {
            Err(self.error(format!("expected a code (0-65535), got {x}")))
        }
    }
}

/// A decimal number as weather data and coordinates are written: an optional sign, ASCII
/// digits, an optional fraction. Not `inf`, `NaN`, `1e5`, `.5` or `` (which `f64::from_str`
/// partly accepts): those are not data, and must not become numbers.
pub(crate) fn decimal(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if ok { s.parse().ok() } else { None }
}

/// A value shortened for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_number(s: &str, expected: Option<f64>) {
        let doc = json!({ "x": s });
        let got = Node::root(&doc).key("x").number_string().ok();
        assert_eq!(got, expected, "{s:?}");
        if let Some(x) = got {
            assert!(x.is_sign_positive() || x < 0.0, "{s:?} gave -0");
        }
    }

    #[test]
    fn number_strings_are_parsed_strictly() {
        check_number("9", Some(9.0));
        check_number("-0", Some(0.0));
        check_number("-3", Some(-3.0));
        check_number("+3", Some(3.0));
        check_number("0.0", Some(0.0));
        check_number("1018", Some(1018.0));
        check_number("29.5", Some(29.5));
        check_number(" 7 ", Some(7.0));
        check_number("12.", Some(12.0));
        check_number("", None);
        check_number("-", None);
        check_number(".5", None);
        check_number("warm", None);
        check_number("NaN", None);
        check_number("inf", None);
        check_number("1e3", None);
        check_number("1,5", None);
        check_number("0x10", None);
        check_number("9°C", None);
    }

    #[test]
    fn minus_zero_is_plain_zero() {
        let doc = json!({ "x": "-0" });
        let x = Node::root(&doc).key("x").number_string().unwrap();
        assert!(x.is_sign_positive());
        assert_eq!(serde_json::to_string(&x).unwrap(), "0.0");
    }

    #[test]
    fn errors_name_the_path() {
        let doc = json!({ "a": [{ "b": "warm", "n": 3 }] });
        let root = Node::root(&doc);
        let b = root.key("a").index(0).key("b");
        assert_eq!(
            b.number_string().unwrap_err(),
            FieldError {
                field: "a[0].b".into(),
                reason: "expected a number, got \"warm\"".into()
            }
        );
        assert_eq!(
            root.key("a").index(1).key("b").str().unwrap_err().field,
            "a[1].b"
        );
        assert_eq!(
            root.key("a").index(0).key("b").number().unwrap_err().reason,
            "expected a number, got \"warm\""
        );
        assert_eq!(
            root.key("a").index(0).key("n").str().unwrap_err().reason,
            "expected a string, got 3"
        );
        assert_eq!(
            root.key("a").index(0).key("zz").str().unwrap_err().reason,
            "missing"
        );
        assert_eq!(Node::root(&json!([1])).str().unwrap_err().field, "(root)");
    }

    #[test]
    fn codes() {
        let doc = json!({ "s": "122", "bad": "12a", "neg": "-1", "n": 3, "f": 3.5, "big": 70000 });
        let root = Node::root(&doc);
        assert_eq!(root.key("s").code_string(), Ok(122));
        assert!(root.key("bad").code_string().is_err());
        assert!(root.key("neg").code_string().is_err());
        assert_eq!(root.key("n").code(), Ok(3));
        assert!(root.key("f").code().is_err());
        assert!(root.key("big").code().is_err());
    }
}
