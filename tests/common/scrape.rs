//! Scraping the broker's Prometheus endpoint (`metricsExporterType=PROM`) and reading its
//! samples.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

/// The `-o` settings of a broker whose endpoint listens on 127.0.0.1:`port`.
pub fn metrics_settings(port: u16) -> Vec<String> {
    [
        "metricsExporterType=PROM".to_owned(),
        "metricsPromExporterHost=127.0.0.1".to_owned(),
        format!("metricsPromExporterPort={port}"),
    ]
    .into_iter()
    .flat_map(|setting| ["-o".to_owned(), setting])
    .collect()
}

/// GETs `path` from the endpoint: the status line's code, the headers, the body.
pub fn http_get(port: u16, path: &str, accept: &str) -> (u16, String, String) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to the endpoint");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nAccept: {accept}\r\n\r\n");
    conn.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read to the close");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (code, head.to_owned(), body.to_owned())
}

/// Every sample of a scrape: `name{labels}` (labels sorted) → value.
pub fn samples(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut found = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("name=value");
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        found.insert((name.to_owned(), labels), value.parse().expect("a number"));
    }
    found
}

/// The value of the one sample of `name` whose labels include `with`.
pub fn value(
    scrape: &BTreeMap<(String, BTreeMap<String, String>), f64>,
    name: &str,
    with: &[(&str, &str)],
) -> Option<f64> {
    let mut matching = scrape.iter().filter(|((n, labels), _)| {
        n == name
            && with
                .iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
    });
    let found = matching.next().map(|(_, v)| *v);
    assert!(
        matching.next().is_none(),
        "one series of {name} with {with:?}"
    );
    found
}
