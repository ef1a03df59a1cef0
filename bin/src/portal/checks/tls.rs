//! TLS for the checks: a handshake that records what it saw of the server's certificate
//! (expiry, chain valid, hostname matched) whether or not the probe verifies it, names a
//! failed verification (`tls_expired`, `tls_untrusted`, `tls_hostname`), and reads a
//! certificate's `notAfter` from its DER without a parsing crate.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use kitestacks_core::ProbeSpec;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::{Context, Fail, Failed, Phase, Reason, TlsFacts, Trace};

/// The system's trusted authorities (rustls-native-certs: the distribution's bundle, or
/// `SSL_CERT_FILE`/`SSL_CERT_DIR`), loaded on first use.
#[derive(Debug, Default)]
pub struct Roots(OnceLock<Arc<RootCertStore>>);

impl Roots {
    fn system(&self) -> Arc<RootCertStore> {
        self.0
            .get_or_init(|| {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    tracing::warn!(
                        "no trusted certificate authority found on this system: every verified TLS probe will fail with tls_untrusted"
                    );
                }
                Arc::new(roots)
            })
            .clone()
    }

    /// The system's roots plus the authorities in `ca_file`.
    fn with(&self, ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, String> {
        let system = self.system();
        let Some(file) = ca_file else {
            return Ok(system);
        };
        let pem = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut roots = (*system).clone();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("{}: bad PEM: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: bad certificate: {e}", file.display()))?;
        }
        Ok(Arc::new(roots))
    }
}

/// What the verifier saw: the leaf certificate and whether it verified.
#[derive(Debug)]
struct Seen {
    leaf: Vec<u8>,
    verified: Result<(), rustls::Error>,
}

/// Verifies like rustls's WebPKI verifier, records the result, and, when the probe does
/// not verify (`tls_verify = false`), accepts the certificate anyway.
#[derive(Debug)]
struct Recorder {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    enforce: bool,
    seen: Mutex<Option<Seen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match rustls::client::WebPkiServerVerifier::builder_with_provider(
            self.roots.clone(),
            self.provider.clone(),
        )
        .build()
        {
            Ok(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ()),
            // No root at all: nothing can be trusted.
            Err(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        let result = verified.clone();
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Seen {
            leaf: end_entity.to_vec(),
            verified,
        });
        match result {
            Err(e) if self.enforce => Err(e),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The reason a certificate failed verification.
pub fn cert_reason(e: &rustls::Error) -> Reason {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => Reason::TlsExpired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Reason::TlsHostname
            }
            _ => Reason::TlsUntrusted,
        },
        _ => Reason::TlsHandshake,
    }
}

/// The facts of what the verifier saw for `name`.
fn facts(seen: &Seen, name: &ServerName<'_>) -> TlsFacts {
    let chain_valid = match &seen.verified {
        Ok(()) => true,
        Err(e) => cert_reason(e) == Reason::TlsHostname,
    };
    let der = CertificateDer::from(seen.leaf.as_slice());
    let hostname_matched = webpki::EndEntityCert::try_from(&der)
        .is_ok_and(|c| c.verify_is_valid_for_subject_name(name).is_ok());
    TlsFacts {
        not_after: not_after(&seen.leaf),
        chain_valid,
        hostname_matched,
    }
}

/// A TLS handshake over `stream` for `host`, the `tls` phase timed. With `tls_verify`
/// the certificate must verify (its failure named); without, it is recorded only.
pub async fn handshake(
    stream: TcpStream,
    host: &str,
    spec: &ProbeSpec,
    cx: &Context,
    alpn: Option<&[u8]>,
    trace: &mut Trace,
) -> Result<(TlsStream<TcpStream>, TlsFacts), Failed> {
    let fail = |reason, detail: String| (Fail::new(reason, detail), None, None);
    let bare = host.trim_matches(['[', ']']).to_owned();
    let name = ServerName::try_from(bare.clone())
        .map_err(|e| fail(Reason::TlsHostname, format!("{bare:?}: {e}")))?;
    let roots = cx
        .roots
        .with(spec.tls_ca_file.as_deref())
        .map_err(|e| fail(Reason::TlsUntrusted, e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let recorder = Arc::new(Recorder {
        roots,
        provider: provider.clone(),
        enforce: spec.tls_verify,
        seen: Mutex::new(None),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(Reason::TlsHandshake, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    if let Some(alpn) = alpn {
        config.alpn_protocols = vec![alpn.to_vec()];
    }
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    trace.begin(Phase::Tls);
    let result = connector.connect(name.clone(), stream).await;
    trace.end();
    let seen = recorder
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let facts = seen.as_ref().map(|s| facts(s, &name));
    match result {
        Ok(stream) => match facts {
            Some(facts) => Ok((stream, facts)),
            None => Err(fail(Reason::TlsHandshake, "no certificate".into())),
        },
        Err(e) => {
            let reason = match seen.as_ref().map(|s| &s.verified) {
                Some(Err(cert)) if spec.tls_verify => cert_reason(cert),
                _ => Reason::TlsHandshake,
            };
            Err((
                Fail::new(reason, format!("TLS handshake: {e}")),
                None,
                facts,
            ))
        }
    }
}

/// One DER element at the start of `input`: its tag, its contents and what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A certificate's `notAfter` (RFC 5280 4.1.2.5: UTCTime or GeneralizedTime, in UTC).
pub fn not_after(der: &[u8]) -> Option<SystemTime> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after; // the explicit version
    }
    // serialNumber, signature, issuer, then validity.
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (0x30, validity, _) = tlv(rest)? else {
        return None;
    };
    let (_, _, validity) = tlv(validity)?; // notBefore
    let (tag, time, _) = tlv(validity)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // As RFC 3339, which humantime reads (and checks: no 31 February).
    let f = |i: usize| &rest[i..i + 2];
    let text = format!("{year:04}-{}-{}T{}:{}:{}Z", f(0), f(2), f(4), f(6), f(8));
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_after_is_read_from_generated_certificates() {
        for (year, utc_or_generalized) in [(2031, "UTCTime"), (2051, "GeneralizedTime")] {
            let mut params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
            params.not_after = rcgen::date_time_ymd(year, 6, 30);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            let got = not_after(cert.der()).expect(utc_or_generalized);
            let want = humantime::parse_rfc3339(&format!("{year}-06-30T00:00:00Z")).unwrap();
            assert_eq!(got, want, "{utc_or_generalized}");
        }
    }

    #[test]
    fn garbage_has_no_expiry() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x82, 0xff]), None);
        assert_eq!(not_after(&[0x30, 0x03, 0x30, 0x01, 0x00]), None);
    }
}
