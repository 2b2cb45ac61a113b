//! Offset handlers driven directly, and the file written and read back through glommio.

use bytes::Bytes;

use super::*;
use crate::broker::handler::answered;
use crate::storage::test_dir;
use crate::wire::codes::response_code;
use crate::wire::command::FLAG_ONEWAY;
use crate::wire::ExtFields;

fn request(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
    let fields: ExtFields = fields.iter().copied().collect();
    let mut request = RemotingCommand::request(code, fields, Bytes::new());
    request.opaque = 3;
    request
}

/// The response to a request made by [`request`].
fn answer(handled: Handled) -> RemotingCommand {
    answered(&request(0, &[]), handled)
}

fn query(offsets: &ConsumerOffsets, extra: &[(&str, &str)], min: Option<u64>) -> RemotingCommand {
    let mut fields = vec![("consumerGroup", "g"), ("topic", "T"), ("queueId", "1")];
    fields.extend_from_slice(extra);
    answer(offsets.query_consumer_offset(&request(14, &fields), |_, _| min))
}

fn update(
    offsets: &ConsumerOffsets,
    queue: &str,
    offset: &str,
    oneway: bool,
) -> Option<RemotingCommand> {
    let fields = [
        ("consumerGroup", "g"),
        ("topic", "T"),
        ("queueId", queue),
        ("commitOffset", offset),
    ];
    let mut request = request(15, &fields);
    if oneway {
        request.flag |= FLAG_ONEWAY;
    }
    let response = answer(offsets.update_consumer_offset(&request, |_, _, _| Ok(())));
    // The connection drops a oneway request's response.
    (!request.is_oneway()).then_some(response)
}

fn offset_of(response: &RemotingCommand) -> i64 {
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let header: OffsetResponseHeader = response.decode_header().expect("offset header");
    header.offset
}

#[test]
fn unknown_group_is_not_found_unless_the_queue_starts_at_zero() {
    let offsets = ConsumerOffsets::new();
    let response = query(&offsets, &[], None);
    assert_eq!(response.code, response_code::QUERY_NOT_FOUND);
    assert_eq!(response.opaque, 3);
    assert_eq!(
        response.remark.as_deref(),
        Some(BrokerError::OffsetNotFound.to_string().as_str())
    );
    assert_eq!(
        query(&offsets, &[], Some(7)).code,
        response_code::QUERY_NOT_FOUND
    );
    assert_eq!(offset_of(&query(&offsets, &[], Some(0))), 0);
    let strict = [("setZeroIfNotFound", "false")];
    assert_eq!(
        query(&offsets, &strict, Some(0)).code,
        response_code::QUERY_NOT_FOUND
    );
}

#[test]
fn updates_oneway_and_two_way_are_stored_and_queried() {
    let offsets = ConsumerOffsets::new();
    assert!(
        update(&offsets, "1", "42", true).is_none(),
        "oneway gets no answer"
    );
    assert_eq!(offset_of(&query(&offsets, &[], None)), 42);
    let response = update(&offsets, "1", "40", false).expect("two-way answered");
    assert_eq!(
        (response.code, response.opaque),
        (response_code::SUCCESS, 3)
    );
    assert_eq!(
        offsets.offset("g", "T", 1),
        Some(40),
        "no monotonicity check, as in Java"
    );
    assert!(offsets.is_dirty());
}

#[test]
fn bad_updates_are_refused_with_the_reason() {
    let offsets = ConsumerOffsets::new();
    let response = update(&offsets, "1", "", false).expect("answered");
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(response.remark.expect("remark").contains("commitOffset"));
    let response = update(&offsets, "-1", "5", false).expect("answered");
    assert_eq!(response.code, response_code::INVALID_PARAMETER);
    assert!(
        update(&offsets, "x", "5", true).is_none(),
        "oneway stays silent"
    );
    let response =
        answer(offsets.query_consumer_offset(&request(14, &[("topic", "T")]), |_, _| None));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        offsets.commit("a@b", "T", 0, 1),
        Err(BrokerError::InvalidOffsetKey {
            topic: "T".into(),
            group: "a@b".into(),
            queue_id: 0,
        })
    );
    assert!(!offsets.is_dirty());
}

#[test]
fn a_pending_reset_wins_over_commits_until_taken() {
    let offsets = ConsumerOffsets::new();
    offsets.commit("g", "T", 0, 100).expect("stored");
    offsets.reset("g", "T", 0, 10).expect("reset");
    offsets.commit("g", "T", 0, 120).expect("ignored");
    assert_eq!(offsets.offset("g", "T", 0), Some(10));
    assert_eq!(offsets.take_pending_reset("g", "T", 0), Some(10));
    assert_eq!(offsets.take_pending_reset("g", "T", 0), None);
    offsets.commit("g", "T", 0, 11).expect("stored");
    assert_eq!(offsets.offset("g", "T", 0), Some(11));
}

#[test]
fn group_queries_and_deletes() {
    let offsets = ConsumerOffsets::new();
    for (group, topic, queue, offset) in [
        ("g", "T", 0, 1),
        ("g", "T", 1, 2),
        ("g", "U", 0, 3),
        ("h", "T", 0, 4),
    ] {
        offsets.commit(group, topic, queue, offset).expect("stored");
    }
    let of_g = offsets.group_offsets("g");
    assert_eq!(of_g.keys().collect::<Vec<_>>(), ["T", "U"]);
    assert_eq!(of_g["T"], QueueOffsets::from([(0, 1), (1, 2)]));
    assert_eq!(offsets.groups_of_topic("T"), ["g", "h"]);
    offsets.delete_topic("T");
    assert_eq!(offsets.groups_of_topic("T"), Vec::<String>::new());
    assert_eq!(offsets.offset("g", "U", 0), Some(3));
    offsets.delete_group("g");
    assert!(offsets.group_offsets("g").is_empty());
    assert_eq!(offsets.entries.get(), 0);
}

#[test]
fn file_format_round_trips_and_reads_fastjson_keys() {
    let offsets = ConsumerOffsets::new();
    offsets.commit("g", "%RETRY%g", 0, 0).expect("stored");
    offsets.commit("g", "T", 1, 7).expect("stored");
    offsets.commit("g", "T", 0, 5).expect("stored");
    let text = offsets.encode();
    assert_eq!(
        text,
        br#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":0},"offsetTable":{"%RETRY%g@g":{"0":0},"T@g":{"0":5,"1":7}}}"#
    );
    let back = ConsumerOffsets::decode(&text).expect("reads");
    assert_eq!(back.encode(), text);
    assert!(!back.is_dirty());

    let java =
        br#"{"dataVersion":{"counter":3,"timestamp":1},"offsetTable":{"T@g":{0:12,1:7},"U@h":{}}}"#;
    let read = ConsumerOffsets::decode(java).expect("reads fastjson");
    assert_eq!(
        (read.offset("g", "T", 0), read.offset("g", "T", 1)),
        (Some(12), Some(7))
    );
    assert_eq!(
        (read.data_version().counter, read.data_version().timestamp),
        (3, 1)
    );
    let four = ConsumerOffsets::decode(br#"{"offsetTable":{"T@g":{"0":1}}}"#).expect("4.x");
    assert_eq!(four.data_version(), DataVersion::default());
    for bad in [
        &b"{"[..],
        br#"{"offsetTable":{"nogroup":{"0":1}}}"#,
        br#"{"offsetTable":{"T@g":{"-1":1}}}"#,
        b"",
    ] {
        assert!(
            ConsumerOffsets::decode(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_slave_takes_each_of_its_masters_keys_and_keeps_its_own() {
    let slave = ConsumerOffsets::new();
    slave.commit("g", "T", 0, 1).expect("stored");
    slave.commit("g", "T", 1, 1).expect("stored");
    slave.commit("h", "U", 0, 4).expect("stored");
    let master = ConsumerOffsets::decode(
        br#"{"dataVersion":{"counter":9,"timestamp":5},"offsetTable":{"T@g":{"0":8},"V@g":{"2":3}}}"#,
    )
    .expect("master's");
    assert!(slave.take_masters(&master).expect("taken"));
    // T@g is the master's whole: its queue 1 goes with the slave's entry.
    assert_eq!(slave.group_offsets("g")["T"], QueueOffsets::from([(0, 8)]));
    assert_eq!(slave.offset("g", "V", 2), Some(3));
    assert_eq!(
        slave.offset("h", "U", 0),
        Some(4),
        "a key only the slave has stays"
    );
    assert_eq!(slave.entries.get(), 3);
    assert_eq!(slave.data_version(), master.data_version());
    assert!(slave.is_dirty());
    assert!(!slave.take_masters(&master).expect("taken"), "nothing new");
}

#[test]
fn corrupt_file_is_refused_naming_it_and_missing_file_starts_empty() {
    let dir = test_dir("offsets-corrupt");
    let path = dir.join("config").join("consumerOffset.json");
    assert!(!ConsumerOffsets::load(&path)
        .expect("missing is empty")
        .is_dirty());
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, b"{\"offsetTable\":{\"T@g\":{\"0\":").expect("write");
    let err = ConsumerOffsets::load(&path).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("consumerOffset.json.bak"), "{text}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn persistence_writes_periodically_and_at_close_keeping_a_backup() {
    let dir = test_dir("offsets-persist");
    let path = dir.join("config").join("consumerOffset.json");
    let task_path = path.clone();
    glommio::LocalExecutorBuilder::default()
        .spawn(move || async move {
            let offsets = Rc::new(ConsumerOffsets::new());
            let closing = Rc::new(crate::net::Latch::default());
            let runner = {
                let (offsets, closing) = (offsets.clone(), closing.clone());
                let task_path = task_path.clone();
                glommio::spawn_local(async move {
                    let wait = closing.wait();
                    let clock = crate::clock::ManualClock::new(1_000).clock();
                    offsets
                        .run_persistence_every(Duration::from_millis(20), &task_path, &clock, wait)
                        .await
                })
            };
            offsets.commit("g", "T", 0, 5).expect("stored");
            while offsets.is_dirty() {
                glommio::timer::sleep(Duration::from_millis(5)).await;
            }
            // The commit moved the data version on, dated by the clock.
            assert_eq!(
                fs::read(&task_path).expect("written"),
                br#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":1000},"offsetTable":{"T@g":{"0":5}}}"#
            );
            offsets.commit("g", "T", 0, 6).expect("stored");
            closing.set();
            runner.await.expect("final write");
        })
        .expect("executor")
        .join()
        .expect("joined");
    let reloaded = ConsumerOffsets::load(&path).expect("reads back");
    assert_eq!(reloaded.offset("g", "T", 0), Some(6));
    let bak = ConsumerOffsets::load(&sibling(&path, ".bak")).expect("backup reads");
    assert_eq!(
        bak.offset("g", "T", 0),
        Some(5),
        "the backup is the previous table"
    );
    assert!(!sibling(&path, ".tmp").exists());
    let _ = fs::remove_dir_all(&dir);
}
