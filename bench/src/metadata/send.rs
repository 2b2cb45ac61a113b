//! The send step: one message to each created topic, then what the queues take on disk.

use super::*;

/// What the sends did.
#[derive(Debug, Serialize)]
pub(super) struct SendFigures {
    pub(super) ok: u64,
    size: usize,
    failures: BTreeMap<String, u64>,
    elapsed_sec: f64,
    latency: Latency,
}

/// Sends one message to each topic: `--connections` connections, the shards in turn, with
/// `--window` sends in flight on each.
pub(super) async fn send_all(
    args: &MetadataArgs,
    creation: &Creation,
    shards: &[Shard],
) -> Result<SendFigures, BenchError> {
    let options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        in_flight_max: args.window,
        ..ClientOptions::default()
    };
    let next = Rc::new(Cell::new(0usize));
    let outcome = Rc::new(RefCell::new(Outcomes::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for index in 0..args.connections {
        let shard = shards[index % shards.len()].clone();
        let connection = Connection::connect_with(shard.addr, &options)
            .await
            .map_err(BenchError::Connect)?;
        for slot in 0..args.window {
            let (connection, next, outcome) = (connection.clone(), next.clone(), outcome.clone());
            let (creation, shard) = (creation.clone(), shard.clone());
            let (size, timeout) = (args.size, args.timeout);
            let id = (index * args.window + slot) as u32;
            workers.push(glommio::spawn_local(async move {
                loop {
                    let n = next.get();
                    if n >= creation.count {
                        return;
                    }
                    next.set(n + 1);
                    let shape = MessageShape {
                        group: PRODUCER_GROUP.to_owned(),
                        topic: creation.topic(n),
                        size,
                        batch: 1,
                        tag: None,
                        keys: false,
                        serialize_type: SerializeType::RocketMq,
                        born_property: false,
                        transactional: false,
                        credentials: creation.credentials.clone(),
                    };
                    let mut template = Template::new(&shape, Some(&shard.name), id, now_ms());
                    let command = template.next(0, now_ms());
                    let sent = Instant::now();
                    let response = connection.request(command, timeout).await;
                    outcome
                        .borrow_mut()
                        .record(sent.elapsed(), response.and_then(success));
                }
            }));
        }
    }
    for worker in workers {
        worker.await;
    }
    let outcome = outcome.borrow();
    Ok(SendFigures {
        ok: outcome.ok,
        size: args.size,
        failures: outcome.failures.clone(),
        elapsed_sec: started.elapsed().as_secs_f64(),
        latency: Latency::of(&outcome.latency),
    })
}

pub(super) fn send_rows(figures: &mut Figures, sent: &SendFigures) {
    figures.value("send", sent);
    figures.row(
        "send",
        format!(
            "{} messages of {} B, one per topic, in {}: {} msgs/s, {}{}",
            thousands(sent.ok),
            sent.size,
            seconds(Duration::from_secs_f64(sent.elapsed_sec)),
            thousands((sent.ok as f64 / sent.elapsed_sec.max(1e-9)) as u64),
            sent.latency.text(),
            failures_text(&sent.failures)
        ),
    );
}

/// Waits until the store's ConsumeQueues hold `stored` queues with entries on disk, then
/// reports what the queues and the store take.
pub(super) async fn disk_rows(
    figures: &mut Figures,
    store: &Path,
    stored: u64,
    wait: Duration,
) -> Result<(), BenchError> {
    let started = Instant::now();
    let mut use_ = DiskUse::of(store)?;
    let mut progress = Instant::now();
    while use_.queues_with_entries < stored
        && started.elapsed() < wait
        && progress.elapsed() < STALL
    {
        glommio::timer::sleep(DISK_POLL).await;
        let before = use_.queues_with_entries;
        use_ = DiskUse::of(store)?;
        if use_.queues_with_entries > before {
            progress = Instant::now();
        }
    }
    let waited = started.elapsed();
    figures.value("disk_wait_sec", waited.as_secs_f64());
    figures.value("disk_queues_with_entries", use_.queues_with_entries);
    figures.value("disk_queue_file_bytes", use_.queue_files);
    figures.value("disk_store_bytes", use_.total);
    figures.value("disk_parts_bytes", &use_.parts);
    let on_disk = if use_.queues_with_entries >= stored {
        format!(
            "every entry on disk {} after the last send",
            seconds(waited)
        )
    } else {
        format!(
            "only {} of {} queues had entries on disk after {} (none more for {} or more)",
            thousands(use_.queues_with_entries),
            thousands(stored),
            seconds(waited),
            seconds(STALL.min(wait))
        )
    };
    figures.row("disk", on_disk);
    let queues = use_.queues_with_entries.max(1);
    let all_queue_bytes = use_.parts.get("consumequeue").copied().unwrap_or(0);
    figures.row(
        "disk",
        format!(
            "ConsumeQueue files: {} per queue holding a message ({} queues, {} in all); with \
             their directories {} per queue",
            bytes_text(use_.queue_files / queues),
            thousands(use_.queues_with_entries),
            mib(use_.queue_files),
            bytes_text(all_queue_bytes / queues)
        ),
    );
    let parts: Vec<String> = use_
        .parts
        .iter()
        .filter(|(_, bytes)| **bytes >= 1 << 20)
        .map(|(part, bytes)| format!("{part} {}", mib(*bytes)))
        .collect();
    figures.row(
        "disk",
        format!(
            "whole store: {} allocated ({})",
            mib(use_.total),
            parts.join(", ")
        ),
    );
    Ok(())
}
