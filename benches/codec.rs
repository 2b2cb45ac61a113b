//! Throughput of the frame and header codec on the broker's hottest path: decoding a
//! SEND_MESSAGE_V2 request and encoding its send response, in both header serializations.
//!
//! Run: `cargo bench --bench codec [-- <name filter>]`
//! (release profile, thin LTO). Figures on the 2-core AMD EPYC VM, rustc 1.95.0, 2026-12-07,
//! machine otherwise idle (load average 1.3); runs move by ±20 %:
//!
//! ```text
//! decode SEND_MESSAGE_V2 frame (json)           1436 B/frame   1.43 M frames/s    2047 MB/s    702 ns/frame
//! decode SEND_MESSAGE_V2 + header (json)        1436 B/frame   1.31 M frames/s    1875 MB/s    766 ns/frame
//! encode send response (json)                    300 B/frame   6.13 M frames/s    1840 MB/s    163 ns/frame
//! build + encode send response (json)            300 B/frame   4.31 M frames/s    1292 MB/s    232 ns/frame
//! decode SEND_MESSAGE_V2 frame (binary)         1302 B/frame   2.40 M frames/s    3124 MB/s    417 ns/frame
//! decode SEND_MESSAGE_V2 + header (binary)      1302 B/frame   1.92 M frames/s    2498 MB/s    521 ns/frame
//! encode send response (binary)                  208 B/frame  11.53 M frames/s    2397 MB/s     87 ns/frame
//! build + encode send response (binary)          208 B/frame   6.80 M frames/s    1414 MB/s    147 ns/frame
//! ```
//!
//! "frame" is `frame::decode` alone (header parsed into a command, body sliced); "+ header"
//! adds the typed `SendMessageRequestHeader`; "build" adds making the response command and
//! its typed header, which the encoder writes straight into the frame as the broker answers
//! (`RemotingCommand::set_typed_header`), so "encode" alone includes writing its fields.
//! Built into ext fields first instead (`set_header`), "build + encode" took 308 ns (JSON)
//! and 265 ns (binary) in the same sitting.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use shardmq::wire::codes::request_code;
use shardmq::wire::headers::{SendMessageRequestHeader, SendMessageResponseHeader};
use shardmq::wire::{frame, ExtFields, RemotingCommand, SerializeType};

#[path = "support/java_send.rs"]
mod java_send;
use java_send::java_send_header;

/// Frames per timed round: enough to amortise the timer, small enough to stay in cache.
const FRAMES_PER_ROUND: usize = 512;
const RUN_TIME: Duration = Duration::from_secs(2);

/// A request as a 5.x Java producer sends it: one-letter keys, a 1 KiB body, properties with
/// a unique key, tags, keys and WAIT.
fn send_request(serialize_type: SerializeType) -> RemotingCommand {
    let header = java_send_header(
        "please_rename_unique_group_name",
        "TopicTest",
        "KEYS\u{1}order-42\u{2}UNIQ_KEY\u{1}7F0000017A2B18B4AAC2178D3E5A0000\u{2}\
         WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}",
    );
    let mut fields = ExtFields::with_capacity(16);
    header.encode_for(request_code::SEND_MESSAGE_V2, &mut fields);
    let mut command = RemotingCommand::request(
        request_code::SEND_MESSAGE_V2,
        fields,
        Bytes::from(vec![b'x'; 1024]),
    );
    command.opaque = 12345;
    command.serialize_type = serialize_type;
    command
}

fn send_response(request: &RemotingCommand) -> RemotingCommand {
    let mut response = RemotingCommand::response_to(request, 0, None);
    let mut header =
        SendMessageResponseHeader::new("C0A8000100002A9F00000000001E8480".into(), 3, 1_234_567);
    header.transaction_id = Some("7F0000017A2B18B4AAC2178D3E5A0000".into());
    response.set_typed_header(header);
    response
}

fn encoded(command: &RemotingCommand) -> BytesMut {
    let mut buf = BytesMut::new();
    command.encode(&mut buf).expect("a bench command encodes");
    buf
}

/// Runs `round` (which handles `FRAMES_PER_ROUND` frames and returns the time it measured)
/// until `RUN_TIME` has been measured, then prints frames/s and MB/s.
fn report(name: &str, frame_len: usize, mut round: impl FnMut() -> Duration) {
    // `cargo bench --bench codec -- binary` runs only the lines whose name has "binary".
    if let Some(filter) = std::env::args().nth(1).filter(|arg| !arg.starts_with('-')) {
        if !name.contains(filter.as_str()) {
            return;
        }
    }
    for _ in 0..8 {
        round(); // Warm caches and the allocator.
    }
    let (mut measured, mut frames) = (Duration::ZERO, 0usize);
    while measured < RUN_TIME {
        measured += round();
        frames += FRAMES_PER_ROUND;
    }
    let per_second = frames as f64 / measured.as_secs_f64();
    println!(
        "{name:<44} {frame_len:>5} B/frame {:>6.2} M frames/s {:>7.0} MB/s {:>6.0} ns/frame",
        per_second / 1e6,
        per_second * frame_len as f64 / 1e6,
        1e9 / per_second,
    );
}

fn bench_decode(name: &str, request: &RemotingCommand, typed: bool) {
    let one = encoded(request);
    let many = one.repeat(FRAMES_PER_ROUND);
    report(name, one.len(), || {
        let mut buf = BytesMut::from(&many[..]);
        let start = Instant::now();
        while let Some(command) = frame::decode(&mut buf).expect("valid frames") {
            if typed {
                let header =
                    SendMessageRequestHeader::decode_for(command.code, &command.ext_fields);
                black_box(header.expect("valid header"));
            }
            black_box(command);
        }
        start.elapsed()
    });
}

fn bench_encode(name: &str, request: &RemotingCommand, build: bool) {
    let response = send_response(request);
    let frame_len = encoded(&response).len();
    let mut buf = BytesMut::with_capacity(frame_len * FRAMES_PER_ROUND);
    report(name, frame_len, || {
        buf.clear();
        let start = Instant::now();
        for _ in 0..FRAMES_PER_ROUND {
            if build {
                black_box(send_response(black_box(request)))
                    .encode(&mut buf)
                    .expect("encodes");
            } else {
                black_box(&response).encode(&mut buf).expect("encodes");
            }
        }
        black_box(&buf);
        start.elapsed()
    });
}

fn main() {
    for (label, serialize_type) in [
        ("json", SerializeType::Json),
        ("binary", SerializeType::RocketMq),
    ] {
        let request = send_request(serialize_type);
        bench_decode(
            &format!("decode SEND_MESSAGE_V2 frame ({label})"),
            &request,
            false,
        );
        bench_decode(
            &format!("decode SEND_MESSAGE_V2 + header ({label})"),
            &request,
            true,
        );
        bench_encode(&format!("encode send response ({label})"), &request, false);
        bench_encode(
            &format!("build + encode send response ({label})"),
            &request,
            true,
        );
    }
}
