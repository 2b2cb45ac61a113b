//! Compressed REGISTER_BROKER bodies and topic lines on arbitrary bytes: never a panic, and
//! never more held than the inflated-size bound (the run's RSS limit catches a regression).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardmq::wire::register_body;

fuzz_target!(|data: &[u8]| {
    let _ = register_body::decode_compressed(data);
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = register_body::decode_topic_line(line);
    }
});
