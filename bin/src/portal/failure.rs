//! One failure, one name: the classifier that names a transport failure (`dns`,
//! `refused`, `tls`, `timeout`, `connection`) for a probe, the Forgejo client and the
//! weather provider alike, so that a DNS failure is `dns` in `/api/status`, in
//! `/api/activity`'s and `/api/weather`'s `error`, and in the log.

use std::error::Error as StdError;

use super::probe::ProbeError;

/// The name of a failed request's transport failure, found by walking the error's source
/// chain: a timeout, a refused connection, a host name that did not resolve, a failed TLS
/// handshake, or any other connection failure (reset, closed, protocol error).
pub fn classify(err: &(dyn StdError + 'static)) -> ProbeError {
    let mut cur = Some(err);
    while let Some(err) = cur {
        if err
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
        {
            return ProbeError::Timeout;
        }
        if err.downcast_ref::<rustls::Error>().is_some() {
            return ProbeError::Tls;
        }
        let mut next = err.source();
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return ProbeError::Refused,
                std::io::ErrorKind::TimedOut => return ProbeError::Timeout,
                _ => {}
            }
            // io::Error's `source` skips the error it wraps (tokio-rustls wraps rustls's).
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn StdError + 'static));
            }
        }
        // hyper-util's connector names a resolver failure "dns error".
        if err.to_string().starts_with("dns error") {
            return ProbeError::Dns;
        }
        cur = next;
    }
    ProbeError::Connection
}

/// The name an upstream library's error has on every surface: its own kind (`timeout`,
/// `unauthorized`, `unavailable`…), except that a `connection` failure is named by
/// [`classify`] from the error's source chain.
pub fn upstream_kind(library_kind: &'static str, err: &(dyn StdError + 'static)) -> &'static str {
    if library_kind == "connection" {
        classify(err).as_str()
    } else {
        library_kind
    }
}

/// An error and its causes, joined by `: ` (a cause already at the end of the text is
/// not repeated).
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<dyn StdError + Send + Sync>>);

    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn the_cause_names_the_failure_wherever_it_sits_in_the_chain() {
        let dns = Wrap(
            "connection to forgejo failed",
            Some(Box::new(Wrap(
                "client error (Connect)",
                Some(Box::new(Wrap("dns error", None))),
            ))),
        );
        assert_eq!(classify(&dns), ProbeError::Dns);
        assert_eq!(upstream_kind("connection", &dns), "dns");
        assert_eq!(upstream_kind("unauthorized", &dns), "unauthorized");
        assert_eq!(
            chain(&dns),
            "connection to forgejo failed: client error (Connect): dns error"
        );

        let refused = Wrap(
            "tcp connect error",
            Some(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))),
        );
        assert_eq!(classify(&refused), ProbeError::Refused);
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        );
        assert_eq!(classify(&tls), ProbeError::Tls);
        assert_eq!(classify(&Wrap("reset", None)), ProbeError::Connection);
    }
}
