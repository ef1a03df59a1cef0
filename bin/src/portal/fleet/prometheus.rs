//! A small typed client of Prometheus' HTTP query API: `/api/v1/query` (instant vectors)
//! and `/api/v1/query_range` (matrices), parsed from Prometheus' JSON envelope
//! (`{"status": "success", "data": {"resultType", "result"}}` or `{"status": "error",
//! "errorType", "error"}`), with one typed error per way it can fail.

use std::collections::BTreeMap;
use std::time::Duration;

use kitestacks_core::{FleetAuth, FleetConfig};
use serde::Deserialize;

/// The most a query answer may hold; a larger one is refused, not buffered.
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// Why a query failed. [`Error::kind`] is its name on every surface.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Prometheus answered an HTTP error status without its JSON error body.
    #[error("prometheus {endpoint} answered HTTP {status}")]
    Status {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// The status code.
        status: u16,
    },
    /// Prometheus answered `"status": "error"`: the query could not be run.
    #[error("prometheus {endpoint} refused the query ({error_type}): {message}")]
    Query {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// Prometheus' `errorType` (`bad_data`, `timeout`, `canceled`, `execution`…).
        error_type: String,
        /// Prometheus' `error`.
        message: String,
    },
    /// The body is not the query API's JSON (or not the result type asked for).
    #[error("prometheus {endpoint} answered something that is not its query API's JSON: {reason}")]
    Malformed {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The body was larger than [`MAX_BODY_BYTES`].
    #[error("prometheus {endpoint} answered more than {limit} bytes")]
    TooLarge {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// The cap.
        limit: usize,
    },
    /// No whole answer within the configured timeout.
    #[error("prometheus {endpoint} did not answer within {timeout:?}")]
    Timeout {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// `[fleet] timeout`.
        timeout: Duration,
    },
    /// Prometheus could not be reached (refused, DNS, TLS, reset).
    #[error("cannot reach prometheus {endpoint}")]
    Connect {
        /// `/api/v1/query` or `/api/v1/query_range`.
        endpoint: &'static str,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The stable name of the failure: `http_status`, `unauthorized` (401, 403),
    /// `query_error`, `malformed`, `too_large`, `timeout`, or `connection` (which the
    /// portal's classifier names further: `refused`, `dns`, `tls`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status {
                status: 401 | 403, ..
            } => "unauthorized",
            Self::Status { .. } => "http_status",
            Self::Query { .. } => "query_error",
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connection",
        }
    }

    /// Whether it was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}

/// One series of an instant vector: its labels and its value at the query's time
/// (`None` for `NaN` and infinities).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: Option<f64>,
}

/// One series of a range query: its labels and `(t, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Points in time order, seconds since the Unix epoch; `None` for `NaN`/infinities.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A client of one Prometheus.
#[derive(Clone)]
pub struct Prometheus {
    http: reqwest::Client,
    base: String,
    auth: Option<FleetAuth>,
    timeout: Duration,
}

const QUERY: &str = "/api/v1/query";
const QUERY_RANGE: &str = "/api/v1/query_range";

impl Prometheus {
    /// A client for `[fleet]`: no redirects (the query API answers where it is asked),
    /// no proxy from the environment, `[fleet] timeout` on every request.
    pub fn new(config: &FleetConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("kitestacks-portal/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .build()?;
        Ok(Self {
            http,
            base: config
                .prometheus_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            auth: config.auth.clone(),
            timeout: config.timeout,
        })
    }

    /// An instant query at Prometheus' current time.
    pub async fn query(&self, expr: &str) -> Result<Vec<Sample>, Error> {
        let data = self.get(QUERY, &[("query", expr.to_owned())]).await?;
        parse_vector(QUERY, &data)
    }

    /// A range query from `start` to `end` (seconds since the Unix epoch) every `step`
    /// seconds.
    pub async fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, Error> {
        let params = [
            ("query", expr.to_owned()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{step}")),
        ];
        let data = self.get(QUERY_RANGE, &params).await?;
        parse_matrix(QUERY_RANGE, &data)
    }

    async fn get(
        &self,
        endpoint: &'static str,
        params: &[(&str, String)],
    ) -> Result<Vec<u8>, Error> {
        let mut req = self
            .http
            .get(format!("{}{endpoint}", self.base))
            .query(params);
        req = match &self.auth {
            Some(FleetAuth::Basic { username, password }) => {
                req.basic_auth(username, Some(password.expose()))
            }
            Some(FleetAuth::Bearer(token)) => req.bearer_auth(token.expose()),
            None => req,
        };
        let transport = |source: reqwest::Error| {
            if source.is_timeout() {
                Error::Timeout {
                    endpoint,
                    timeout: self.timeout,
                }
            } else {
                Error::Connect { endpoint, source }
            }
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Error::TooLarge {
                    endpoint,
                    limit: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            return Ok(body);
        }
        // Prometheus explains a refused query (400, 422, 503) in its JSON envelope.
        match serde_json::from_slice::<Envelope>(&body) {
            Ok(Envelope {
                status,
                error_type: Some(error_type),
                error,
                ..
            }) if status == "error" => Err(Error::Query {
                endpoint,
                error_type,
                message: error.unwrap_or_default(),
            }),
            _ => Err(Error::Status { endpoint, status }),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct RawSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// The `data.result` of a successful answer of `result_type`.
fn result(
    endpoint: &'static str,
    body: &[u8],
    result_type: &str,
) -> Result<serde_json::Value, Error> {
    let malformed = |reason: String| Error::Malformed { endpoint, reason };
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not the JSON envelope: {e}")))?;
    match (env.status.as_str(), env.data) {
        ("error", _) => Err(Error::Query {
            endpoint,
            error_type: env.error_type.unwrap_or_default(),
            message: env.error.unwrap_or_default(),
        }),
        ("success", Some(data)) if data.result_type == result_type => Ok(data.result),
        ("success", Some(data)) => Err(malformed(format!(
            "resultType {:?}, expected {result_type:?}",
            data.result_type
        ))),
        ("success", None) => Err(malformed("no data".into())),
        (other, _) => Err(malformed(format!("status {other:?}"))),
    }
}

/// A Prometheus sample value: a string holding a float (`"1.5"`, `"NaN"`, `"+Inf"`);
/// `NaN` and infinities have no value to show.
fn value(endpoint: &'static str, text: &str) -> Result<Option<f64>, Error> {
    let v: f64 = text.parse().map_err(|_| Error::Malformed {
        endpoint,
        reason: format!("{text:?} is not a sample value"),
    })?;
    Ok(v.is_finite().then_some(v))
}

/// Parses an instant query's answer (`resultType` `vector`).
pub fn parse_vector(endpoint: &'static str, body: &[u8]) -> Result<Vec<Sample>, Error> {
    let raw: Vec<RawSample> =
        serde_json::from_value(result(endpoint, body, "vector")?).map_err(|e| {
            Error::Malformed {
                endpoint,
                reason: format!("a vector's series: {e}"),
            }
        })?;
    raw.into_iter()
        .map(|s| {
            Ok(Sample {
                value: value(endpoint, &s.value.1)?,
                labels: s.metric,
            })
        })
        .collect()
}

/// Parses a range query's answer (`resultType` `matrix`).
pub fn parse_matrix(endpoint: &'static str, body: &[u8]) -> Result<Vec<Series>, Error> {
    let raw: Vec<RawSeries> =
        serde_json::from_value(result(endpoint, body, "matrix")?).map_err(|e| {
            Error::Malformed {
                endpoint,
                reason: format!("a matrix's series: {e}"),
            }
        })?;
    raw.into_iter()
        .map(|s| {
            let points = s
                .values
                .iter()
                .map(|(t, v)| Ok((*t, value(endpoint, v)?)))
                .collect::<Result<_, Error>>()?;
            Ok(Series {
                labels: s.metric,
                points,
            })
        })
        .collect()
}

/// A PromQL string literal holding `text` (double-quoted, escaped).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_answer_gives_labels_and_values() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"monk:9100"},"value":[1763856000.5,"42.5"]},
            {"metric":{"instance":"kscloud1:9100"},"value":[1763856000.5,"NaN"]}]}}"#;
        let v = parse_vector(QUERY, body).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].labels["instance"], "monk:9100");
        assert_eq!(v[0].value, Some(42.5));
        assert_eq!(v[1].value, None, "NaN has no value to show");
    }

    #[test]
    fn a_matrix_answer_gives_points() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[10,"1"],[20,"+Inf"],[30,"3"]]}]}}"#;
        let m = parse_matrix(QUERY_RANGE, body).unwrap();
        assert_eq!(
            m[0].points,
            vec![(10.0, Some(1.0)), (20.0, None), (30.0, Some(3.0))]
        );
    }

    #[test]
    fn each_bad_answer_has_its_error() {
        let err = |body: &[u8]| parse_vector(QUERY, body).unwrap_err();
        let e =
            err(br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#);
        assert_eq!(e.kind(), "query_error");
        assert_eq!(
            e.to_string(),
            "prometheus /api/v1/query refused the query (bad_data): parse error at char 4"
        );
        let e = err(b"<html>502 Bad Gateway</html>");
        assert_eq!(e.kind(), "malformed");
        assert!(e.to_string().starts_with(
            "prometheus /api/v1/query answered something that is not its query API's JSON: not the JSON envelope"
        ), "{e}");
        let e = err(br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
        assert_eq!(
            e.to_string(),
            "prometheus /api/v1/query answered something that is not its query API's JSON: resultType \"matrix\", expected \"vector\""
        );
        let e = err(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}"#);
        assert_eq!(
            e.to_string(),
            "prometheus /api/v1/query answered something that is not its query API's JSON: \"x\" is not a sample value"
        );
        assert_eq!(
            Error::Status {
                endpoint: QUERY,
                status: 401
            }
            .kind(),
            "unauthorized"
        );
        assert_eq!(
            Error::Status {
                endpoint: QUERY,
                status: 500
            }
            .kind(),
            "http_status"
        );
    }

    #[test]
    fn label_values_are_quoted_as_promql_strings() {
        assert_eq!(quote("monk:9100"), "\"monk:9100\"");
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
