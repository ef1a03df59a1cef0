//! `tls_server_config` of the web config: validated into a rustls `ServerConfig` (Go's
//! cipher suite, curve and version names), client certificate checks (`client_auth_type`,
//! `client_allowed_sans`) and a server certificate re-read when its files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio_rustls::rustls;
use yaml_rust2::yaml::Hash;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::{Invalid, boolean, check_keys, invalid, string, strings};

const TLS_KEYS: &[&str] = &[
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_ca_file",
    "client_ca",
    "client_auth_type",
    "cipher_suites",
    "curve_preferences",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
];

const P: &str = "tls_server_config.";

/// Where PEM comes from: a file (re-read when it changes) or the config itself.
#[derive(Debug, Clone)]
enum Pem {
    File(PathBuf),
    Inline(String),
}

impl Pem {
    fn from_keys(
        h: &Hash,
        dir: &Path,
        file_key: &str,
        inline_key: &str,
    ) -> Result<Option<Pem>, Invalid> {
        match (string(h, P, file_key)?, string(h, P, inline_key)?) {
            (Some(_), Some(_)) => invalid(format!(
                "{P}{file_key} and {P}{inline_key} are mutually exclusive"
            )),
            (Some(f), None) => Ok(Some(Pem::File(dir.join(f)))),
            (None, Some(t)) => Ok(Some(Pem::Inline(t))),
            (None, None) => Ok(None),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        match self {
            Pem::File(p) => std::fs::read(p).map_err(|e| format!("{P}{key}: {}: {e}", p.display())),
            Pem::Inline(t) => Ok(t.clone().into_bytes()),
        }
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        match self {
            Pem::File(p) => std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
            Pem::Inline(_) => None,
        }
    }
}

/// The rustls config of a `tls_server_config` mapping; `None` when it sets nothing (plain
/// HTTP, as upstream). Relative paths are resolved against `dir`.
pub(super) fn tls_config(
    h: &Hash,
    dir: &Path,
    http2: bool,
) -> Result<Option<Arc<rustls::ServerConfig>>, Invalid> {
    check_keys(h, P, TLS_KEYS)?;
    let cert = Pem::from_keys(h, dir, "cert_file", "cert")?;
    let key = Pem::from_keys(h, dir, "key_file", "key")?;
    let ca = Pem::from_keys(h, dir, "client_ca_file", "client_ca")?;
    let auth_type = string(h, P, "client_auth_type")?;
    let sans = strings(h, P, "client_allowed_sans")?;
    if cert.is_none() && key.is_none() && ca.is_none() && auth_type.is_none() && sans.is_empty() {
        return Ok(None); // upstream: no TLS config, plain HTTP
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return invalid(format!(
            "{P}: missing one of cert or cert_file, or of key or key_file (both are needed for TLS)"
        ));
    };

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    let suites = strings(h, P, "cipher_suites")?;
    if !suites.is_empty() {
        let mut chosen: Vec<rustls::SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        for name in &suites {
            chosen.extend(cipher_suite(name)?);
        }
        provider.cipher_suites = chosen;
    }
    let curves = strings(h, P, "curve_preferences")?;
    if !curves.is_empty() {
        provider.kx_groups = curves.iter().map(|c| curve(c)).collect::<Result<_, _>>()?;
    }
    let min = match string(h, P, "min_version")? {
        None => 12,
        Some(v) => match version(&v, "min_version")? {
            10 | 11 => {
                tracing::warn!(
                    "{P}min_version: {v} raised to TLS12: rustls speaks TLS 1.2 and 1.3 only"
                );
                12
            }
            n => n,
        },
    };
    let max = match string(h, P, "max_version")? {
        None => 13,
        Some(v) => match version(&v, "max_version")? {
            10 | 11 => {
                return invalid(format!(
                    "{P}max_version: {v:?} is not supported: rustls speaks TLS 1.2 and 1.3 only"
                ));
            }
            n => n,
        },
    };
    if min > max {
        return invalid(format!(
            "{P}min_version (TLS{min}) is above max_version (TLS{max})"
        ));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(n, _)| (min..=max).contains(n))
            .map(|(_, v)| v)
            .collect();
    let prefer_server = boolean(h, P, "prefer_server_cipher_suites")?.unwrap_or(true);
    let provider = Arc::new(provider);

    let verifier = client_verifier(auth_type.as_deref(), ca.as_ref(), &sans, &provider)?;
    let resolver = ReloadingCert::new(cert, key, provider.clone())?;

    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| Invalid(format!("{P}: {e}")))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.ignore_client_order = prefer_server;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(Arc::new(config)))
}

fn version(v: &str, key: &str) -> Result<u8, Invalid> {
    match v {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        _ => invalid(format!(
            "{P}{key}: unknown TLS version {v:?} (one of TLS10, TLS11, TLS12, TLS13)"
        )),
    }
}

/// A TLS 1.2 suite by its Go name; `None` for a TLS 1.3 suite (not configurable).
fn cipher_suite(name: &str) -> Result<Option<rustls::SupportedCipherSuite>, Invalid> {
    use rustls::crypto::aws_lc_rs::cipher_suite as cs;
    Ok(Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        // TLS 1.3 suites are not configurable (Go ignores them in cipher_suites too).
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Ok(None);
        }
        n if n.starts_with("TLS_")
            && (n.contains("_CBC_") || n.contains("RC4") || n.starts_with("TLS_RSA_")) =>
        {
            return invalid(format!(
                "{P}cipher_suites: {n:?} is not supported (only ECDHE with AES-GCM or \
                 ChaCha20-Poly1305 is: TLS_ECDHE_{{ECDSA,RSA}}_WITH_{{AES_128_GCM_SHA256,\
                 AES_256_GCM_SHA384,CHACHA20_POLY1305_SHA256}})"
            ));
        }
        n => return invalid(format!("{P}cipher_suites: unknown cipher suite {n:?}")),
    }))
}

fn curve(name: &str) -> Result<&'static dyn rustls::crypto::SupportedKxGroup, Invalid> {
    use rustls::crypto::aws_lc_rs::kx_group;
    match name {
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        "X25519" => Ok(kx_group::X25519),
        "CurveP521" => invalid(format!(
            "{P}curve_preferences: \"CurveP521\" is not supported (CurveP256, CurveP384, X25519 are)"
        )),
        n => invalid(format!(
            "{P}curve_preferences: unknown curve {n:?} (CurveP256, CurveP384, X25519)"
        )),
    }
}

fn client_verifier(
    auth_type: Option<&str>,
    ca: Option<&Pem>,
    sans: &[String],
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, Invalid> {
    let auth = auth_type.unwrap_or("NoClientCert");
    let verifying = matches!(
        auth,
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
    );
    let known = [
        "NoClientCert",
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ];
    if !known.contains(&auth) {
        return invalid(format!(
            "{P}client_auth_type: {auth:?} is not one of {}",
            known.join(", ")
        ));
    }
    if ca.is_some() && auth == "NoClientCert" {
        return invalid(format!(
            "{P}client_ca_file: client CAs have been configured without a client auth \
             policy: set client_auth_type (e.g. RequireAndVerifyClientCert)"
        ));
    }
    if verifying && ca.is_none() {
        return invalid(format!(
            "{P}client_auth_type: {auth:?} needs client_ca_file (the CAs to verify client certificates with)"
        ));
    }
    if !sans.is_empty() && !verifying {
        return invalid(format!(
            "{P}client_allowed_sans: needs client_auth_type VerifyClientCertIfGiven or \
             RequireAndVerifyClientCert (got {auth:?})"
        ));
    }
    let (verify, mandatory) = match auth {
        "NoClientCert" => return Ok(None),
        "RequestClientCert" => (None, false),
        "RequireAnyClientCert" | "RequireClientCert" => (None, true),
        _ => {
            let Some(ca) = ca else {
                return invalid(format!("{P}client_ca_file: missing"));
            };
            let pem = ca.read("client_ca_file").map_err(Invalid)?;
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| Invalid(format!("{P}client_ca_file: bad PEM: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| Invalid(format!("{P}client_ca_file: bad certificate: {e}")))?;
            }
            if roots.is_empty() {
                return invalid(format!("{P}client_ca_file: no certificate found"));
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if auth == "VerifyClientCertIfGiven" {
                b.allow_unauthenticated()
            } else {
                b
            };
            let verifier = b
                .build()
                .map_err(|e| Invalid(format!("{P}client_ca_file: {e}")))?;
            (Some(verifier), false)
        }
    };
    Ok(Some(Arc::new(ClientCerts {
        verify,
        mandatory,
        allowed_sans: sans.to_vec(),
        algs: provider.signature_verification_algorithms,
    })))
}

/// The client certificate check of a `client_auth_type`. Go's RequestClientCert and
/// RequireAnyClientCert ask for a certificate and accept any (`verify` is `None`); the
/// verifying types check it against the client CAs, and with `client_allowed_sans` a
/// verified certificate must also carry one of them; then a certificate is mandatory even
/// under `VerifyClientCertIfGiven`, or a client sending none would skip the SAN check. The handshake signature is always
/// checked, with the provider's algorithms (as rustls's WebPKI verifier does).
#[derive(Debug)]
struct ClientCerts {
    /// WebPKI verification against the client CAs; `None`: any certificate is accepted.
    verify: Option<Arc<dyn ClientCertVerifier>>,
    /// Whether a certificate is required when `verify` is `None` (else it says).
    mandatory: bool,
    /// `client_allowed_sans`; empty: any verified certificate.
    allowed_sans: Vec<String>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCerts {
    fn has_allowed_san(&self, der: &CertificateDer<'_>) -> bool {
        let Ok(cert) = webpki::EndEntityCert::try_from(der) else {
            return false;
        };
        let dns: Vec<&str> = cert.valid_dns_names().collect();
        let uris: Vec<&str> = cert.valid_uri_names().collect();
        self.allowed_sans.iter().any(|a| {
            if let Ok(ip) = a.parse::<std::net::IpAddr>() {
                return cert
                    .verify_is_valid_for_subject_name(&rustls::pki_types::ServerName::IpAddress(
                        ip.into(),
                    ))
                    .is_ok();
            }
            dns.iter().any(|d| d.eq_ignore_ascii_case(a)) || uris.contains(&a.as_str())
        })
    }
}

impl ClientCertVerifier for ClientCerts {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        if !self.allowed_sans.is_empty() {
            return true;
        }
        self.verify
            .as_ref()
            .map_or(self.mandatory, |v| v.client_auth_mandatory())
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.verify.as_ref().map_or(&[], |v| v.root_hint_subjects())
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let Some(verify) = &self.verify else {
            return Ok(ClientCertVerified::assertion());
        };
        let ok = verify.verify_client_cert(end_entity, intermediates, now)?;
        if self.allowed_sans.is_empty() || self.has_allowed_san(end_entity) {
            Ok(ok)
        } else {
            tracing::debug!("client certificate has none of the allowed SANs");
            Err(rustls::Error::General(
                "could not find allowed SANs in client cert".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The server certificate, re-read when its files change (checked at most once a second).
#[derive(Debug)]
struct ReloadingCert {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    state: Mutex<CertState>,
}

#[derive(Debug)]
struct CertState {
    checked: Instant,
    stamp: [Option<(SystemTime, u64)>; 2],
    current: Arc<CertifiedKey>,
}

impl ReloadingCert {
    fn new(cert: Pem, key: Pem, provider: Arc<CryptoProvider>) -> Result<Self, Invalid> {
        let stamp = [cert.stamp(), key.stamp()];
        let current = load_pair(&cert, &key, &provider).map_err(Invalid)?;
        Ok(Self {
            cert,
            key,
            provider,
            state: Mutex::new(CertState {
                checked: Instant::now(),
                stamp,
                current: Arc::new(current),
            }),
        })
    }
}

fn load_pair(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_pem = cert.read("cert_file")?;
    let key_pem = key.read("key_file")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{P}cert_file: bad PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{P}cert_file: no certificate found"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("{P}key_file: no private key found: {e}"))?;
    CertifiedKey::from_der(chain, key_der, provider)
        .map_err(|e| format!("{P}key_file: does not fit cert_file: {e}"))
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.checked.elapsed() >= Duration::from_secs(1) {
            s.checked = Instant::now();
            let stamp = [self.cert.stamp(), self.key.stamp()];
            if stamp != s.stamp {
                match load_pair(&self.cert, &self.key, &self.provider) {
                    Ok(ck) => {
                        tracing::info!("TLS certificate reloaded");
                        s.stamp = stamp;
                        s.current = Arc::new(ck);
                    }
                    // Half-written files during a renewal: keep the old pair, try again.
                    Err(e) => tracing::warn!("TLS certificate not reloaded: {e}"),
                }
            }
        }
        Some(s.current.clone())
    }
}
