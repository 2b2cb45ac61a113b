//! Frame decoding on arbitrary bytes: never a panic, and a decoder that reports progress
//! consumes input, so the loop ends.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shardmq::wire::frame;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match frame::decode(&mut buf) {
            Ok(Some(_command)) => assert!(buf.len() < before, "a frame consumed no bytes"),
            Ok(None) | Err(_) => break,
        }
    }
});
