//! Property tests of the providers' answers: random and mutated bodies (seeded from the
//! shared wttr.in and Open-Meteo fixtures) under any status become weather or a typed
//! error, never a panic; a body that is not JSON is reported with the line where it went
//! wrong, and neither the weather nor the error grows beyond its body.

use proptest::prelude::*;

use crate::upstream::Reply;
use crate::{Error, Location, Provider, open_meteo, wttr};

#[path = "../../kitestacks-metrics/tests/it/mutate.rs"]
mod mutate;

fn seeds(dir: &str, files: &[&str]) -> Vec<String> {
    files
        .iter()
        .map(|f| mutate::shared_fixture(&format!("{dir}/{f}")))
        .collect()
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => Just(200u16),
        1 => prop::sample::select(vec![400u16, 404, 429, 500, 503]),
        1 => any::<u16>(),
    ]
}

fn reply(provider: Provider, status: u16, body: String) -> Reply {
    Reply {
        provider,
        url: "http://127.0.0.1:1/props".into(),
        status,
        body,
    }
}

/// Weather is about as long as its body; an error quotes a bounded part of it, and "not
/// JSON" names a line of it.
fn check(body: &str, result: Result<crate::Weather, Error>) -> Result<(), TestCaseError> {
    let limit = 4 * body.len() + 4096;
    match result {
        Ok(w) => {
            let json = serde_json::to_string(&w).unwrap();
            prop_assert!(json.len() <= limit, "{} bytes of weather", json.len());
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(shown.len() <= limit, "{} bytes of error", shown.len());
            if let Error::Undecodable { reason, .. } = &e
                && let Some(rest) = reason.strip_prefix("not JSON: ")
            {
                let line: usize = rest
                    .rsplit_once(" at line ")
                    .and_then(|(_, l)| l.split(' ').next()?.parse().ok())
                    .expect("serde_json names the line");
                let lines = mutate::lines(body);
                prop_assert!((1..=lines + 1).contains(&line), "{shown}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn wttr_answers(status in status(), body in mutate::input(seeds("wttr", &[
        "j1-ok.json",
        "j2-ok.json",
        "200-unknown-location-legacy.txt",
        "500-location-not-found.txt",
        "503-capacity-limit-legacy.txt",
    ]))) {
        let location = Location::name("Berlin").unwrap();
        let r = wttr::interpret(&reply(Provider::Wttr, status, body.clone()), &location);
        check(&body, r)?;
    }

    #[test]
    fn open_meteo_answers(status in status(), body in mutate::input(seeds("openmeteo", &[
        "open-meteo-current.json",
        "open-meteo-error-400.json",
        "open-meteo-error-429.json",
    ]))) {
        let r = open_meteo::interpret(&reply(Provider::OpenMeteo, status, body.clone()), "Berlin");
        check(&body, r)?;
    }
}
