//! SEND_BATCH_MESSAGE bodies: never a panic, and decoded entries survive a round trip.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shardmq::wire::batch;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = batch::decode(data) else {
        return;
    };
    let mut out = BytesMut::new();
    for entry in &entries {
        batch::encode_entry(&mut out, entry).expect("a decoded entry re-encodes");
    }
    assert_eq!(out.len(), data.len());
    assert_eq!(batch::decode(&out).expect("re-encoded batch decodes"), entries);
});
