//! What RocketMQ's ACL 1.0 signature costs per request: the broker's check (`verify`, the
//! HMAC-SHA1 of the fields in key order and the body, Base64-encoded, then compared, with the
//! account's key prepared once) and a client's signing (`Credentials::sign`, timed on a copy
//! of the request), on a SEND_MESSAGE_V2 as a Java producer sends it (one-letter header,
//! UNIQ_KEY, WAIT and TAGS properties) with a 1 KiB body, and on a body of 4 KiB to show the
//! per-byte part.
//!
//! Run: `cargo bench --bench signature` (release profile). Figures are ns per call (see
//! bench/RESULTS.md, "Access control").

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use shardmq::wire::codes::request_code::SEND_MESSAGE_V2;
use shardmq::wire::signature::{verify, Credentials, SigningKey, ACCESS_KEY, SIGNATURE};
use shardmq::wire::{ExtFields, RemotingCommand};

#[path = "support/java_send.rs"]
mod java_send;
use java_send::java_send_header;

const CALLS: usize = 500_000;

fn time(name: &str, mut call: impl FnMut()) {
    for _ in 0..CALLS / 10 {
        call();
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        call();
    }
    let took = started.elapsed();
    println!(
        "{name:<52} {:>7.1} ns/call",
        took.as_nanos() as f64 / CALLS as f64
    );
}

/// A producer's send of `body_bytes`, signed by `account`.
fn send(body_bytes: usize, account: &Credentials) -> RemotingCommand {
    let header = java_send_header(
        "bench_producer",
        "BenchTopic",
        "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F00000100012A9F1B2C3D4E5F600001\u{2}WAIT\u{1}true\u{2}",
    );
    let mut fields = ExtFields::new();
    header.encode_for(SEND_MESSAGE_V2, &mut fields);
    let body = Bytes::from(vec![b'x'; body_bytes]);
    let mut command = RemotingCommand::request(SEND_MESSAGE_V2, fields, body);
    account.sign(&mut command);
    command
}

fn main() {
    let account = Credentials::new("RocketMQ", "12345678");
    for body in [1024, 4096] {
        let command = send(body, &account);
        let given = command
            .ext_fields
            .get(SIGNATURE)
            .unwrap_or_default()
            .to_owned();
        let fields = command.ext_fields.len();
        let key = SigningKey::new(account.secret_key());
        time(
            &format!("check: verify ({fields} fields, {body} B)"),
            || {
                assert!(verify(black_box(&command), &key, &given));
            },
        );
        // A signed request's fields cannot be signed again in place without growing (a
        // replaced value's bytes stay behind), so each signing gets a fresh copy, timed
        // alone too.
        let mut unsigned = command.clone();
        unsigned.ext_fields.remove(SIGNATURE);
        unsigned.ext_fields.remove(ACCESS_KEY);
        time(&format!("copy of the request ({body} B)"), || {
            black_box(unsigned.clone());
        });
        time(
            &format!("copy + Credentials::sign ({fields} fields, {body} B)"),
            || {
                let mut copy = unsigned.clone();
                account.sign(black_box(&mut copy));
                black_box(copy);
            },
        );
    }
}
