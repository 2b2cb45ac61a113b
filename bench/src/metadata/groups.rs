//! The groups step: thousands of consumer groups in client instances, all first
//! heartbeats at once, and the retry topics they create.

use super::*;

/// Who hosts which consumers in the groups step.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupPlan {
    groups: usize,
    consumers: usize,
    /// Client instances: one client id and one connection to each shard each.
    pub(super) clients: usize,
}

impl GroupPlan {
    pub(super) fn new(args: &MetadataArgs) -> GroupPlan {
        let members = args.groups * args.consumers;
        GroupPlan {
            groups: args.groups,
            consumers: args.consumers,
            clients: members.min(args.clients_max),
        }
    }

    /// The groups client instance `client` hosts consumers of: consumer `j` of group `g` is
    /// member `g × consumers + j`, hosted by instance `member mod clients`. A group's members
    /// are consecutive, so with at least as many instances as consumers per group they are
    /// different instances.
    pub(super) fn groups_of(&self, client: usize) -> impl Iterator<Item = usize> + '_ {
        (client..self.groups * self.consumers)
            .step_by(self.clients.max(1))
            .map(|member| member / self.consumers)
    }
}

pub(super) async fn groups(
    args: &MetadataArgs,
    creation: &Creation,
    plan: &GroupPlan,
    shards: &[Shard],
    namesrv: SocketAddr,
    broker: &BrokerProcess,
    figures: &mut Figures,
) -> Result<(), BenchError> {
    let pid = broker.pid();
    let before = pid.and_then(ProcessFigures::of).unwrap_or_default();
    let per_client = plan.groups * plan.consumers / plan.clients.max(1);
    figures.value("groups_clients", plan.clients);
    figures.row(
        "groups",
        format!(
            "{} groups x {} consumers = {} consumers in {} client instances ({}{} \
             connections, one per instance and shard)",
            thousands(plan.groups as u64),
            plan.consumers,
            thousands((plan.groups * plan.consumers) as u64),
            thousands(plan.clients as u64),
            if per_client > 1 {
                format!("{per_client} consumers of different groups each; ")
            } else {
                String::new()
            },
            thousands((plan.clients * shards.len()) as u64)
        ),
    );

    // Every instance's connection to every shard, a few at a time.
    let notified = Rc::new(Cell::new(0u64));
    let handler: InboundHandler = {
        let notified = notified.clone();
        Rc::new(move |request: RemotingCommand| {
            if request.code == request_code::NOTIFY_CONSUMER_IDS_CHANGED {
                notified.set(notified.get() + 1);
            }
            None
        })
    };
    // Java's connect timeout: a broker that stops accepting costs 3 s, not `--timeout`.
    let options = ClientOptions {
        connect_timeout: CONNECT_TIMEOUT_DEFAULT,
        request_timeout: args.timeout,
        on_request: Some(handler),
        ..ClientOptions::default()
    };
    let links = plan.clients * shards.len();
    let slots: Rc<RefCell<Vec<Option<Rc<Connection>>>>> = Rc::new(RefCell::new(vec![None; links]));
    let refused = Rc::new(RefCell::new(BTreeMap::<String, u64>::new()));
    let next = Rc::new(Cell::new(0usize));
    let connect_started = Instant::now();
    let connectors: Vec<_> = (0..CONNECT_CONCURRENCY.min(links))
        .map(|_| {
            let (slots, refused, next) = (slots.clone(), refused.clone(), next.clone());
            let (options, shards) = (options.clone(), shards.to_vec());
            glommio::spawn_local(async move {
                // The first failed connect stops every connector.
                while refused.borrow().is_empty() {
                    let link = next.get();
                    if link >= links {
                        return;
                    }
                    next.set(link + 1);
                    let addr = shards[link % shards.len()].addr;
                    match Connection::connect_with(addr, &options).await {
                        Ok(connection) => slots.borrow_mut()[link] = Some(connection),
                        Err(error) => {
                            *refused.borrow_mut().entry(error.to_string()).or_default() += 1
                        }
                    }
                }
            })
        })
        .collect();
    for connector in connectors {
        connector.await;
    }
    let connected = slots.borrow().iter().filter(|slot| slot.is_some()).count();
    figures.value("groups_connected", connected);
    figures.row(
        "groups",
        format!(
            "{} of {} connections opened in {}, {} at a time{}",
            thousands(connected as u64),
            thousands(links as u64),
            seconds(connect_started.elapsed()),
            CONNECT_CONCURRENCY,
            if refused.borrow().is_empty() {
                String::new()
            } else {
                format!(
                    "; stopped at a failed connect{}",
                    failures_text(&refused.borrow())
                )
            }
        ),
    );

    // The first heartbeat of every instance to every shard, all at once.
    let bodies = (0..plan.clients)
        .map(|client| {
            let consumers: Vec<(String, String)> = plan
                .groups_of(client)
                .map(|g| {
                    (
                        format!("{}{g}", args.group_prefix),
                        creation.topic(g % creation.count),
                    )
                })
                .collect();
            heartbeat_body(&format!("127.0.0.1@metadata-{client}"), &consumers)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let answers = Rc::new(RefCell::new(Outcomes::default()));
    let heartbeats_started = Instant::now();
    let mut tasks = Vec::with_capacity(links);
    for link in 0..links {
        let Some(connection) = slots.borrow()[link].clone() else {
            continue;
        };
        let body = bodies[link / shards.len()].clone();
        let (answers, timeout) = (answers.clone(), args.timeout);
        tasks.push(glommio::spawn_local(async move {
            let request =
                RemotingCommand::request(request_code::HEART_BEAT, ExtFields::new(), body);
            let sent = Instant::now();
            let response = connection.request(request, timeout).await;
            answers
                .borrow_mut()
                .record(sent.elapsed(), response.and_then(success));
        }));
    }
    for task in tasks {
        task.await;
    }
    let all_answered = heartbeats_started.elapsed();
    let answers = std::mem::take(&mut *answers.borrow_mut());
    let latency = Latency::of(&answers.latency);
    let within = JAVA_HEARTBEAT_TIMEOUT.as_micros() as u64;
    let in_time = answers.latency.iter().filter(|&&us| us <= within).count();
    let sent = answers.ok + answers.failures.values().sum::<u64>();
    figures.value("groups_heartbeat", latency);
    figures.value("groups_heartbeat_within_3s", in_time);
    figures.value("groups_heartbeat_failures", &answers.failures);
    figures.row(
        "groups",
        format!(
            "first HEART_BEAT, {} sent at once: {}; {} answered SUCCESS, {} of them within 3 s; \
             all answered {} after the first was sent{}",
            thousands(sent),
            latency.text(),
            thousands(answers.ok),
            thousands(in_time as u64),
            seconds(all_answered),
            failures_text(&answers.failures)
        ),
    );
    let after = pid.and_then(ProcessFigures::of).unwrap_or_default();
    let grown = after.rss_kib.saturating_sub(before.rss_kib) * 1024;
    figures.value("groups_rss_before_kib", before.rss_kib);
    figures.value("groups_rss_after_kib", after.rss_kib);
    figures.value(
        "groups_rss_per_connection_bytes",
        grown / connected.max(1) as u64,
    );
    figures.row(
        "groups",
        format!(
            "broker RSS {} before, {} after the heartbeats: {} per connection; {} open files",
            mib(before.rss_kib * 1024),
            mib(after.rss_kib * 1024),
            bytes_text(grown / connected.max(1) as u64),
            thousands(after.open_files)
        ),
    );

    // The groups' retry topics, which their heartbeats create in the background.
    let ns_options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let ns = Connection::connect_with(namesrv, &ns_options)
        .await
        .map_err(BenchError::Connect)?;
    let retry_prefix = format!("%RETRY%{}", args.group_prefix);
    let mut retry_topics = 0;
    let mut progress = Instant::now();
    while answers.ok > 0 && heartbeats_started.elapsed() < args.wait && progress.elapsed() < STALL {
        if let Ok((list, _)) = topic_list(&ns, args.timeout).await {
            let count = list
                .topic_list
                .iter()
                .filter(|topic| topic.starts_with(&retry_prefix))
                .count();
            if count > retry_topics {
                progress = Instant::now();
            }
            retry_topics = count;
        }
        if retry_topics >= plan.groups {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    let setup = heartbeats_started.elapsed();
    figures.value("groups_retry_topics", retry_topics);
    figures.value("groups_retry_topics_sec", setup.as_secs_f64());
    figures.value("groups_notifications", notified.get());
    let setup_done = pid.and_then(ProcessFigures::of).unwrap_or_default();
    figures.value("groups_rss_after_setup_kib", setup_done.rss_kib);
    figures.row(
        "groups",
        format!(
            "{} of {} retry topics routable {} after the first heartbeat; broker RSS then {}; \
             {} NOTIFY_CONSUMER_IDS_CHANGED received",
            thousands(retry_topics as u64),
            thousands(plan.groups as u64),
            seconds(setup),
            mib(setup_done.rss_kib * 1024),
            thousands(notified.get())
        ),
    );

    // Closing every connection: the broker drops the consumers.
    let closing = Instant::now();
    for connection in slots.borrow_mut().iter_mut().filter_map(Option::take) {
        connection.close();
    }
    ns.close();
    let mut left = after.open_files;
    while closing.elapsed() < args.wait {
        left = pid.and_then(ProcessFigures::of).map_or(0, |p| p.open_files);
        if left <= before.open_files + 8 {
            break;
        }
        glommio::timer::sleep(POLL).await;
    }
    figures.value("groups_closed_sec", closing.elapsed().as_secs_f64());
    figures.row(
        "groups",
        format!(
            "all connections closed: broker back to {} open files {} later",
            thousands(left),
            seconds(closing.elapsed())
        ),
    );
    Ok(())
}

/// The HEART_BEAT body of a Java push-consumer client instance hosting one consumer of each
/// `(group, topic)`: clustering, from the last offset, subscribed to the topic and to the
/// group's retry topic, with the client's inner producer group.
pub(super) fn heartbeat_body(
    client_id: &str,
    consumers: &[(String, String)],
) -> Result<Bytes, BenchError> {
    let subscription = |topic: String| SubscriptionData {
        expression_type: ExpressionType::Tag,
        sub_string: "*".to_owned(),
        sub_version: now_ms(),
        topic,
        ..SubscriptionData::default()
    };
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: consumers
            .iter()
            .map(|(group, topic)| ConsumerData {
                consume_from_where: ConsumeFromWhere::LastOffset,
                consume_type: ConsumeType::Passively,
                group_name: group.clone(),
                message_model: MessageModel::Clustering,
                subscription_data_set: vec![
                    subscription(topic.clone()),
                    subscription(format!("%RETRY%{group}")),
                ],
                unit_mode: false,
            })
            .collect(),
        producer_data_set: vec![ProducerData {
            group_name: CLIENT_INNER_PRODUCER.to_owned(),
        }],
        without_sub: false,
    };
    serde_json::to_vec(&data)
        .map(Bytes::from)
        .map_err(|error| BenchError::Io(std::io::Error::other(error)))
}
