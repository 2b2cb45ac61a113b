//! The lookups step: routes, cluster info, the topic list, consume stats and heartbeats,
//! each a series of requests one at a time, with their latency.

use super::*;

/// One lookup's figures.
#[derive(Debug, Serialize)]
pub(super) struct LookupFigures {
    requests: usize,
    ok: u64,
    failures: BTreeMap<String, u64>,
    per_sec: f64,
    latency: Latency,
}

/// Sends `count` requests one after another on `connection` and times each answer. The
/// first request left unanswered (timed out, or its connection closed) ends the series, so
/// a broker that stopped serving costs one timeout, not one per request.
pub(super) async fn measure(
    connection: &Connection,
    count: usize,
    timeout: Duration,
    mut make: impl FnMut() -> RemotingCommand,
) -> LookupFigures {
    let mut outcomes = Outcomes::default();
    let started = Instant::now();
    let mut requests = 0;
    while requests < count {
        let request = make();
        let sent = Instant::now();
        let response = connection.request(request, timeout).await;
        requests += 1;
        let unanswered = response.as_ref().err().is_some_and(is_unanswered);
        outcomes.record(sent.elapsed(), response.and_then(success));
        if unanswered {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    LookupFigures {
        requests,
        ok: outcomes.ok,
        failures: outcomes.failures.clone(),
        per_sec: requests as f64 / elapsed,
        latency: Latency::of(&outcomes.latency),
    }
}

pub(super) fn lookup_row(figures: &mut Figures, key: &str, what: &str, lookup: &LookupFigures) {
    figures.value(key, lookup);
    figures.row(
        "lookups",
        format!(
            "{what}: {} requests one at a time, {}/s, {}{}",
            thousands(lookup.requests as u64),
            thousands(lookup.per_sec as u64),
            lookup.latency.text(),
            failures_text(&lookup.failures)
        ),
    );
}

pub(super) async fn lookups(
    args: &MetadataArgs,
    creation: &Creation,
    shards: &[Shard],
    namesrv: SocketAddr,
    options: &ClientOptions,
    rng: &mut Rng,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    let ns = Connection::connect_with(namesrv, options)
        .await
        .map_err(BenchError::Connect)?;
    let broker = Connection::connect_with(shards[0].addr, options)
        .await
        .map_err(BenchError::Connect)?;
    let timeout = args.timeout;

    let routes = measure(&ns, args.lookups, timeout, || {
        route_request(&creation.topic(rng.below(creation.count)))
    })
    .await;
    lookup_row(
        figures,
        "lookup_route",
        "GET_ROUTEINFO_BY_TOPIC, random topics",
        &routes,
    );

    let cluster = measure(&ns, args.lookups, timeout, || {
        plain(request_code::GET_BROKER_CLUSTER_INFO)
    })
    .await;
    lookup_row(
        figures,
        "lookup_cluster",
        "GET_BROKER_CLUSTER_INFO",
        &cluster,
    );

    let all = measure(&ns, args.heavy_lookups, timeout, || {
        plain(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
    })
    .await;
    let (listed, bytes) = match topic_list(&ns, timeout).await {
        Ok((list, bytes)) => (list.topic_list.len(), bytes),
        Err(_) => (0, 0),
    };
    figures.value("lookup_topic_list_topics", listed);
    figures.value("lookup_topic_list_bytes", bytes);
    lookup_row(
        figures,
        "lookup_topic_list",
        &format!(
            "GET_ALL_TOPIC_LIST_FROM_NAMESERVER ({} topics, {})",
            thousands(listed as u64),
            bytes_text(bytes as u64)
        ),
        &all,
    );

    let stats = measure(&broker, args.lookups, timeout, || {
        let mut request = plain(request_code::GET_CONSUME_STATS);
        request.set_header(&GetConsumeStatsRequestHeader {
            consumer_group: STATS_GROUP.to_owned(),
            topic: Some(creation.topic(rng.below(creation.count))),
            ..GetConsumeStatsRequestHeader::default()
        });
        request
    })
    .await;
    lookup_row(
        figures,
        "lookup_consume_stats",
        &format!(
            "GET_CONSUME_STATS, a group on random topics, {}",
            shards[0].name
        ),
        &stats,
    );

    let body = heartbeat_body(
        "127.0.0.1@metadata-lookup",
        &[(LOOKUP_GROUP.to_owned(), creation.topic(0))],
    )?;
    let heartbeats = measure(&broker, args.lookups, timeout, || {
        RemotingCommand::request(request_code::HEART_BEAT, ExtFields::new(), body.clone())
    })
    .await;
    lookup_row(
        figures,
        "lookup_heartbeat",
        &format!("HEART_BEAT of one consumer, {}", shards[0].name),
        &heartbeats,
    );
    ns.close();
    broker.close();
    Ok(())
}
