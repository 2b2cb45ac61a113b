//! The restart step: SIGTERM, a start on the same store, the routes and pulls after it.

use super::*;

pub(super) async fn restart(
    args: &MetadataArgs,
    creation: &Creation,
    broker: &mut BrokerProcess,
    options: &ClientOptions,
    rng: &mut Rng,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    figures.process(
        "restart",
        "before_restart",
        broker.pid(),
        "broker before the restart",
    );
    let stopped = broker.stop(args.wait)?;
    figures.value("restart_stop_sec", stopped.as_secs_f64());
    broker.spawn()?;
    let started = Instant::now();
    let listening = broker.wait_listening(args.wait)?;
    figures.value("restart_listening_sec", listening.as_secs_f64());
    figures.row(
        "restart",
        format!(
            "SIGTERM to exit {}; started again on the same store: listening after {}",
            seconds(stopped),
            seconds(listening)
        ),
    );

    // Every topic listed by the NameServer, then a sample's routes whole.
    let ns = Connection::connect_with(broker.ports.namesrv_addr(), options)
        .await
        .map_err(BenchError::Connect)?;
    let mut listed = 0;
    while started.elapsed() < args.wait {
        if let Ok((list, _)) = topic_list(&ns, args.timeout).await {
            listed = list
                .topic_list
                .iter()
                .filter(|topic| is_created(creation, topic))
                .count();
        }
        if listed >= creation.count {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    let all_listed = started.elapsed();
    let sample = rng.sample(creation.count, args.pull_sample);
    let mut routes: HashMap<usize, TopicRouteData> = HashMap::new();
    while started.elapsed() < args.wait && routes.len() < sample.len() {
        for &n in &sample {
            if routes.contains_key(&n) {
                continue;
            }
            if let Ok(route) = route_of(&ns, &creation.topic(n), args.timeout).await {
                if write_queue_count(&route) >= creation.queues as usize {
                    routes.insert(n, route);
                }
            }
        }
        if routes.len() < sample.len() {
            glommio::timer::sleep(POLL).await;
        }
    }
    let sample_routed = started.elapsed();
    figures.value("restart_listed_topics", listed);
    figures.value("restart_all_listed_sec", all_listed.as_secs_f64());
    figures.value("restart_sample_routed", routes.len());
    figures.value("restart_sample_routed_sec", sample_routed.as_secs_f64());
    figures.row(
        "restart",
        format!(
            "{} of {} topics listed by the NameServer {} after the start; all {} queues of \
             {} of {} sampled topics routed after {}",
            thousands(listed as u64),
            thousands(creation.count as u64),
            seconds(all_listed),
            creation.queues,
            thousands(routes.len() as u64),
            thousands(sample.len() as u64),
            seconds(sample_routed)
        ),
    );
    figures.process(
        "restart",
        "restarted",
        broker.pid(),
        "broker after the restart",
    );

    // The one message of each sampled topic.
    let mut connections: HashMap<SocketAddr, Rc<Connection>> = HashMap::new();
    let mut found = Vec::new();
    let mut pulls = 0u64;
    let mut failures = BTreeMap::<String, u64>::new();
    'topics: for &n in &sample {
        let Some(route) = routes.get(&n) else {
            continue;
        };
        let topic = creation.topic(n);
        let Ok(brokers) = route::read_queues(route) else {
            continue;
        };
        let most = brokers.iter().map(|b| b.queue_ids.len()).max().unwrap_or(0);
        'queues: for k in 0..most {
            for queues in brokers.iter().filter(|b| k < b.queue_ids.len()) {
                let connection = match connections.get(&queues.addr) {
                    Some(connection) => connection.clone(),
                    None => {
                        let connection = Connection::connect_with(queues.addr, options)
                            .await
                            .map_err(BenchError::Connect)?;
                        connections.insert(queues.addr, connection.clone());
                        connection
                    }
                };
                let request = pull_request(&topic, queues.broker_name.clone(), queues.queue_ids[k]);
                let sent = Instant::now();
                pulls += 1;
                match connection.request(request, args.timeout).await {
                    Ok(response) if response.code == response_code::SUCCESS => {
                        if RecordView::parse(&response.body).is_ok() {
                            found.push(micros(sent.elapsed()));
                            break 'queues;
                        }
                    }
                    Ok(response) if is_empty_queue(response.code) => {}
                    Ok(response) => {
                        let failure = Failure::Code(response.code).name();
                        *failures.entry(failure).or_default() += 1;
                    }
                    Err(error) => {
                        *failures.entry(Failure::of(&error).name()).or_default() += 1;
                        if is_unanswered(&error) {
                            break 'topics;
                        }
                    }
                }
            }
        }
    }
    let latency = Latency::of(&found);
    figures.value("restart_pull", latency);
    figures.value("restart_pull_found", found.len());
    figures.row(
        "restart",
        format!(
            "pull of the one message of {} sampled topics ({} found, {} pulls in all, empty \
             queues included): {}{}",
            thousands(routes.len() as u64),
            thousands(found.len() as u64),
            thousands(pulls),
            latency.text(),
            failures_text(&failures)
        ),
    );
    for connection in connections.values() {
        connection.close();
    }
    ns.close();
    Ok(())
}
