//! CommitLog scan and record view on arbitrary bytes: never a panic, and every record that
//! passes `check` re-encodes from its fields to exactly the same bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shardmq::wire::record::{check, RecordView, Scan};

fuzz_target!(|data: &[u8]| {
    let checked = check(data);
    let Ok(view) = RecordView::parse(data) else {
        assert!(!matches!(checked, Ok(Scan::Message(_))));
        return;
    };
    let fields = view.fields();
    let _ = (view.tags(), view.keys(), view.uniq_key(), view.body_crc_matches());
    if let Ok(Scan::Message(meta)) = checked {
        assert_eq!(meta.total_size, view.total_size());
        assert_eq!(meta.topic, view.topic());
        let mut out = BytesMut::new();
        let written = fields.encode(&mut out).expect("a checked record re-encodes");
        assert_eq!(written, view.as_bytes().len());
        assert_eq!(&out[..], view.as_bytes());
    }
});
