//! Alerts against a fake ntfy (and a webhook) on loopback that records every request:
//! exactly the expected notifications for a scripted down/up/flap sequence with the
//! default rules, a push missed, retries with backoff when the notifier fails, a notifier
//! outage in `/metrics`, and the configuration's mistakes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kitestacks::portal::Portal;
use kitestacks_core::Config;

use crate::fake::{Fake, Reply};
use crate::http::call;

/// One request the fake notifier received.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) path: String,
    pub(crate) title: Option<String>,
    pub(crate) priority: Option<String>,
    pub(crate) tags: Option<String>,
    pub(crate) click: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) body: String,
}

/// A notifier on loopback that records requests and answers 503 to the first `fail`.
pub(crate) struct Recorder {
    pub(crate) addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Recorder {
    pub(crate) async fn start(fail: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicUsize::new(fail));
        let g = got.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (g, failures) = (g.clone(), failures.clone());
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (g, failures) = (g.clone(), failures.clone());
                            async move {
                                let header = |name: &str| {
                                    req.headers()
                                        .get(name)
                                        .and_then(|v| v.to_str().ok())
                                        .map(str::to_owned)
                                };
                                let mut got = Got {
                                    path: req.uri().path().to_owned(),
                                    title: header("title"),
                                    priority: header("priority"),
                                    tags: header("tags"),
                                    click: header("click"),
                                    authorization: header("authorization"),
                                    body: String::new(),
                                };
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                got.body = String::from_utf8_lossy(&body).into_owned();
                                let failing = failures
                                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                        n.checked_sub(1)
                                    })
                                    .is_ok();
                                let status = if failing { 503 } else { 200 };
                                if !failing {
                                    g.lock().unwrap().push(got);
                                }
                                let mut r = Response::new(Full::new(Bytes::from_static(b"{}")));
                                *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                Ok::<_, Infallible>(r)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { addr, got }
    }

    /// The requests delivered, once `n` have arrived (or after 20 s).
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..200 {
            if self.got.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Deliveries are spawned when a change is judged: any extra one is under way.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.got.lock().unwrap().clone()
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    move |k: &str| {
        vars.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    }
}

fn portal(text: &str, vars: &[(&str, &str)]) -> Portal {
    let config = Config::from_toml_with_env(text, "<test>", None, &env(vars)).unwrap();
    Portal::new(&config).unwrap()
}

fn app(fake: &Fake) -> String {
    format!(
        "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n[[services]]\nid = \"app\"\nname = \"Wiki\"\n\
         url = \"http://{}/\"\ncategory = \"apps\"\nhosts = [\"monk\"]\nauth = \"none\"\n\
         visibility = \"internal\"\nprobe = {{ path = \"/ok\", failures = 1 }}\n",
        fake.addr
    )
}

#[tokio::test]
async fn a_down_up_flap_sequence_sends_exactly_one_notice_per_transition_then_one_for_the_flapping()
{
    let ntfy = Recorder::start(0).await;
    let fake = Fake::start(vec![("/ok", Reply::Body(200, "text/plain", Bytes::new()))]).await;
    let text = format!(
        "[alerts]\nlink = \"https://portal.example.org/\"\n\n[[alerts.notify]]\nname = \"phone\"\n\
         kind = \"ntfy\"\nurl = \"http://{}/homelab\"\n\n{}",
        ntfy.addr,
        app(&fake)
    );
    let p = portal(&text, &[("KITESTACKS_NOTIFY_TOKEN_PHONE", "tk_s3cret")]);
    let (up, down) = (
        || Reply::Body(200, "text/plain", Bytes::new()),
        || Reply::Body(503, "text/plain", Bytes::new()),
    );
    // up (first result: nothing to say), down, still down, up, down, up (flapping),
    // down, up (silenced while flapping).
    for reply in [up(), down(), down(), up(), down(), up(), down(), up()] {
        fake.set("/ok", reply);
        p.probe_now().await;
    }
    let got = ntfy.wait_for(4).await;
    let titles: Vec<&str> = got
        .iter()
        .map(|g| g.title.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        titles,
        ["Wiki down", "Wiki up", "Wiki down", "Wiki flapping"],
        "{got:#?}"
    );
    let first = &got[0];
    assert_eq!(first.path, "/homelab");
    assert_eq!(first.priority.as_deref(), Some("4"));
    assert_eq!(first.tags.as_deref(), Some("rotating_light"));
    assert_eq!(
        first.click.as_deref(),
        Some("https://portal.example.org/#app")
    );
    assert_eq!(first.authorization.as_deref(), Some("Bearer tk_s3cret"));
    assert!(
        first
            .body
            .starts_with("Wiki on monk is down: http_status since ")
            && first.body.ends_with(" UTC"),
        "{}",
        first.body
    );
    assert!(!first.body.contains('\n'), "one line");
    assert_eq!(got[1].priority.as_deref(), Some("3"));
    assert_eq!(got[1].tags.as_deref(), Some("white_check_mark"));
    assert!(
        got[1]
            .body
            .starts_with("Wiki on monk is up again, after being down since ")
    );
    assert_eq!(
        got[3].body,
        "Wiki on monk is flapping: 4 changes within 600s; notices paused until it settles"
    );
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("kitestacks_portal_notifications_sent_total{notifier=\"phone\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("kitestacks_portal_notifier_up{notifier=\"phone\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("tk_s3cret"));
    crate::checks::promtool(&text);
}

#[tokio::test]
async fn a_webhook_gets_json_a_missed_push_and_retries_until_it_answers() {
    let hook = Recorder::start(2).await;
    let token = "push-token-0123456789";
    let text = format!(
        "[[alerts.notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{}/hooks/lab\"\n\n\
         [[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n[[services]]\nid = \"backup\"\nname = \"Backup\"\n\
         category = \"infrastructure\"\nhosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\n\
         push = {{ period = \"10s\", grace = \"0s\" }}\n",
        hook.addr
    );
    let p = portal(&text, &[("KITESTACKS_PUSH_TOKEN_BACKUP", token)]);
    p.check_pushes(SystemTime::now() + Duration::from_secs(11));
    let got = hook.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let v: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(v["event"], "push_missed");
    assert_eq!(v["service"], "backup");
    assert_eq!(v["reason"], "missed_heartbeat");
    assert_eq!(v["hosts"], "monk");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Backup on monk is down: missed_heartbeat since ")
    );
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("kitestacks_portal_notifications_retries_total{notifier=\"hook\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("kitestacks_portal_notifications_sent_total{notifier=\"hook\"} 1\n"),
        "{text}"
    );
}

#[tokio::test]
async fn a_notifier_that_is_down_shows_in_metrics_and_never_holds_the_checks() {
    let closed = crate::checks::closed_port();
    let fake = Fake::start(vec![("/ok", Reply::Body(503, "text/plain", Bytes::new()))]).await;
    let text = format!(
        "[[alerts.notify]]\nname = \"gone\"\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:{closed}/t\"\n\n{}",
        app(&fake)
    );
    let p = portal(&text, &[]);
    // The round ends with the service down although its notice cannot be delivered.
    p.probe_now().await;
    let status = call(&p, "GET", "/api/status", &[]).await.json();
    assert_eq!(status["services"][0]["state"], "down");
    let mut text = String::new();
    for _ in 0..100 {
        text = String::from_utf8(call(&p, "GET", "/metrics", &[]).await.body.to_vec()).unwrap();
        if text.contains("kitestacks_portal_notifications_retries_total{notifier=\"gone\"} 1\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains("kitestacks_portal_notifications_retries_total{notifier=\"gone\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("kitestacks_portal_notifications_sent_total{notifier=\"gone\"} 0\n"),
        "{text}"
    );
}

#[test]
fn alert_settings_name_their_mistakes() {
    let cases = [
        (
            "[[alerts.notify]]\nname = \"a b\"\nkind = \"ntfy\"\nurl = \"http://n/t\"\n",
            "alerts.notify[0].name: \"a b\" is not a name (letters, digits, '-', '_')",
        ),
        (
            "[[alerts.notify]]\nname = \"p\"\nkind = \"ntfy\"\nurl = \"ntfy.sh/t\"\n",
            "alerts.notify[0].url: is not an http(s) URL with a host",
        ),
        (
            "[[alerts.notify]]\nname = \"p\"\nkind = \"ntfy\"\nurl = \"http://n/t\"\nuser = \"me\"\n",
            "alerts.notify[0].password_file: user is set: set password_file or KITESTACKS_NOTIFY_PASSWORD_P",
        ),
        (
            "[[alerts.rules]]\non = \"down\"\nnotify = [\"pager\"]\n",
            "alerts.rules[0].notify: no notifier named \"pager\" in [[alerts.notify]]",
        ),
        (
            "[[alerts.rules]]\non = \"down\"\npriority = 9\n",
            "alerts.rules[0].priority: 9 is not an ntfy priority (1 to 5)",
        ),
        (
            "[[alerts.rules]]\non = \"up\"\ndays = 3\n",
            "alerts.rules[0].days: applies only to on = \"cert_expiring\"",
        ),
    ];
    for (text, message) in cases {
        let err = Config::from_toml_with_env(text, "<test>", None, &|_| None).unwrap_err();
        assert!(err.to_string().contains(message), "{text}: {err}");
    }
    let ok = Config::from_toml_with_env(
        "[[alerts.notify]]\nname = \"p\"\nkind = \"ntfy\"\nurl = \"http://n/t\"\n\n[[alerts.rules]]\non = \"cert_expiring\"\ndays = 30\ntags = [\"lock\"]\n",
        "<test>",
        None,
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        ok.alerts.rules.len(),
        1,
        "configured rules replace the defaults"
    );
    assert_eq!(ok.alerts.rules[0].days, 30);
}

#[tokio::test]
async fn a_host_rule_notifies_once_while_its_value_stays_above() {
    let ntfy = Recorder::start(0).await;
    // Memory is always more than 0.001 % used: the rule holds from the first sample.
    let text = format!(
        "[[alerts.notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"http://{}/ops\"\n\n\
         [[alerts.rules]]\non = \"memory\"\nabove = 0.001\nfor = \"0s\"\npriority = 5\ntags = [\"warning\"]\n\n\
         [[alerts.rules]]\non = \"cpu\"\nabove = 99.999\nfor = \"1d\"\n",
        ntfy.addr
    );
    let p = portal(&text, &[]);
    p.check_host();
    p.refresh_metrics();
    p.check_host();
    let got = ntfy.wait_for(1).await;
    assert_eq!(got.len(), 1, "once while it stays above: {got:#?}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    assert_eq!(
        got[0].title.as_deref(),
        Some(format!("{host} memory").as_str())
    );
    assert_eq!(got[0].priority.as_deref(), Some("5"));
    assert!(
        got[0].body.starts_with(&format!("{host}: memory at ")),
        "{}",
        got[0].body
    );
    assert!(
        got[0].body.ends_with("%, above 0.001% for 0s"),
        "{}",
        got[0].body
    );
}
