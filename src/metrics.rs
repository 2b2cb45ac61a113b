//! The Prometheus endpoint (`metricsExporterType=PROM`, docs/operations.md "Metrics"):
//! RocketMQ 5's metric names, units and labels, so dashboards built for a Java broker read
//! shardmq's unchanged.
//!
//! Shard 0 listens on `metricsPromExporterHost:metricsPromExporterPort` (5557; the host
//! defaults to `brokerIP1`, as Java's does). A scrape (`GET /metrics` or `/`) asks every
//! shard for its [`ShardMetrics`] over the mesh and writes them with the `prometheus-client`
//! crate: the Prometheus text format, or OpenMetrics when the scraper's `Accept` asks for it
//! (as Prometheus does). Every shard is a broker of its own, so its series carry its broker
//! name as `node_id`, with `cluster` and `node_type="broker"` as in Java, and the
//! `metricsLabel` pairs. `GET /-/healthy` answers without asking the shards.
//!
//! The HTTP served is the least a scraper needs: one request per connection, answered with
//! `Connection: close`; a request larger than [`REQUEST_BYTES_MAX`] or slower than
//! [`REQUEST_PATIENCE`] is dropped.

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::broker::admin::meters::{
    Buckets, ShardMetrics, FINISH_LATENCY_BUCKETS, MESSAGE_SIZE_BUCKETS, RPC_LATENCY_BUCKETS,
};
use crate::broker::metadata::groups::is_system_group;
use crate::broker::metadata::topics::is_system_topic;
use crate::broker::{BrokerShard, ShardMsg, ShardReply};
use crate::config::BrokerConfig;
use crate::wire::codes::{request_code, response_code, version_desc};

/// The most bytes of a request read before it is dropped.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024;

/// How long a scraper may take to send its request.
pub const REQUEST_PATIENCE: Duration = Duration::from_secs(10);

/// Where the endpoint listens: `metricsPromExporterHost` (else `brokerIP1`) and port.
pub fn endpoint(config: &BrokerConfig) -> SocketAddr {
    let host = config
        .metrics
        .prom_host
        .unwrap_or_else(|| config.broker_ip());
    SocketAddr::new(host, config.metrics.prom_port)
}

/// Serves scrapes on `listener` until the shard closes.
pub async fn serve(shard: BrokerShard, listener: TcpListener, config: BrokerConfig) {
    let labels = node_labels(&config);
    loop {
        let accept = async { Some(listener.accept().await) };
        let stop = async {
            shard.closing().await;
            None
        };
        match futures_lite::future::or(accept, stop).await {
            None => return,
            Some(Ok(stream)) => {
                let (shard, labels) = (shard.clone(), labels.clone());
                shard
                    .clone()
                    .spawn_background(async move { answer(stream, &shard, &labels).await })
                    .detach();
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "metrics endpoint: accept failed");
                glommio::timer::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request and answers it.
async fn answer(mut stream: TcpStream, shard: &BrokerShard, labels: &[(String, String)]) {
    let request = futures_lite::future::or(read_request(&mut stream), async {
        glommio::timer::sleep(REQUEST_PATIENCE).await;
        None
    })
    .await;
    let Some(request) = request else {
        return;
    };
    let mut words = request.lines().next().unwrap_or("").split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/" | "/metrics") => {
            let open_metrics = request.lines().any(|line| {
                let (name, value) = line.split_once(':').unwrap_or(("", ""));
                name.eq_ignore_ascii_case("accept")
                    && value.contains("application/openmetrics-text")
            });
            let shards = gather(shard).await;
            match exposition(&shards, labels, open_metrics) {
                Ok(found) => ("200 OK", found.0, found.1),
                Err(_) => ("500 Internal Server Error", "text/plain", String::new()),
            }
        }
        ("GET" | "HEAD", "/-/healthy") => ("200 OK", "text/plain", "Exporter is Healthy.\n".into()),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "Not found\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", String::new()),
    };
    let body = if method == "HEAD" { "" } else { body.as_str() };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.close().await;
}

/// The request's head, up to the blank line; `None` when the peer closes or sends more than
/// [`REQUEST_BYTES_MAX`] first.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buf.len() + read > REQUEST_BYTES_MAX {
            return None;
        }
        buf.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8(buf).ok()
}

/// Every shard's metrics now; a shard that does not answer is left out (and logged).
async fn gather(shard: &BrokerShard) -> Vec<ShardMetrics> {
    let mut found = Vec::new();
    for (id, reply) in shard.gather(ShardMsg::Metrics).await {
        match reply {
            Ok(ShardReply::Metrics(metrics)) => found.push(*metrics),
            other => tracing::warn!(shard = %id, ?other, "a shard gave no metrics"),
        }
    }
    found
}

/// The labels of every series: `metricsLabel`'s, `aggregation` with `metricsInDelta`, then
/// `cluster` and `node_type` (`node_id` is each shard's own).
fn node_labels(config: &BrokerConfig) -> Vec<(String, String)> {
    let mut labels = config.metrics.labels.clone();
    if config.metrics.in_delta {
        labels.push(("aggregation".into(), "delta".into()));
    }
    labels.push(("cluster".into(), config.broker_cluster_name.clone()));
    labels.push(("node_type".into(), "broker".into()));
    labels
}

/// The scrape's text and its content type.
fn exposition(
    shards: &[ShardMetrics],
    labels: &[(String, String)],
    open_metrics: bool,
) -> Result<(&'static str, String), std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        shards: shards.to_vec(),
        labels: labels.to_vec(),
    }));
    let mut text = String::new();
    if open_metrics {
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        Ok((
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            text,
        ))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
        Ok((
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            text,
        ))
    }
}

/// One scrape's data, written family by family.
#[derive(Debug)]
struct Scrape {
    shards: Vec<ShardMetrics>,
    labels: Vec<(String, String)>,
}

type Labels = Vec<(String, String)>;

/// A gauge of every shard: its name, unit, value (none: no series) and extra labels.
type Gauge<'a> = (
    &'a str,
    Option<&'a Unit>,
    fn(&ShardMetrics) -> Option<i64>,
    &'a [(&'a str, String)],
);

/// Java's `version` label: the client version's name in lower case (`v4_9_4`), else the
/// number.
fn version_label(version: i32) -> String {
    version_desc(version).map_or_else(|| version.to_string(), |name| name.to_lowercase())
}

/// Java's label value of a request or response code: its lower-cased name, else the number.
fn code_label(name: Option<&str>, code: i32) -> String {
    name.map_or_else(|| code.to_string(), str::to_lowercase)
}

impl Scrape {
    /// A shard's series labels with `more`, sorted by name as Java sorts them.
    fn labels(&self, shard: &ShardMetrics, more: &[(&str, String)]) -> Labels {
        let mut labels = self.labels.clone();
        labels.push(("node_id".into(), shard.broker_name.clone()));
        labels.extend(more.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        labels.sort();
        labels.insert(0, ("otel_scope_name".into(), "broker-meter".into()));
        labels
    }

    /// A family with one series per `(labels, value)` of `series`.
    fn family<M: EncodeMetric>(
        encoder: &mut DescriptorEncoder,
        (name, help, unit): (&str, &str, Option<&Unit>),
        metric_type: MetricType,
        series: Vec<(Labels, M)>,
    ) -> Result<(), std::fmt::Error> {
        if series.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(name, help, unit, metric_type)?;
        for (labels, metric) in series {
            metric.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn counters(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        series: Vec<(Labels, u64)>,
    ) -> Result<(), std::fmt::Error> {
        let series = series
            .into_iter()
            .map(|(l, v)| (l, ConstCounter::new(v)))
            .collect();
        Self::family(
            encoder,
            (name, "default view for counter.", None),
            MetricType::Counter,
            series,
        )
    }

    fn gauges(
        &self,
        encoder: &mut DescriptorEncoder,
        (name, unit): (&str, Option<&Unit>),
        series: Vec<(Labels, i64)>,
    ) -> Result<(), std::fmt::Error> {
        let series = series
            .into_iter()
            .map(|(l, v)| (l, ConstGauge::new(v)))
            .collect();
        Self::family(
            encoder,
            (name, "default view for gauge.", unit),
            MetricType::Gauge,
            series,
        )
    }

    fn histograms<const N: usize>(
        encoder: &mut DescriptorEncoder,
        (name, help, unit): (&str, &str, Option<&Unit>),
        bounds: &[f64; N],
        series: Vec<(Labels, &Buckets<N>)>,
    ) -> Result<(), std::fmt::Error> {
        if series.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(name, help, unit, MetricType::Histogram)?;
        for (labels, buckets) in series {
            let rows = buckets.rows(bounds);
            family.encode_family(&labels)?.encode_histogram::<Labels>(
                buckets.sum,
                buckets.count,
                &rows,
                None,
            )?;
        }
        Ok(())
    }

    /// `rocketmq_messages_in_total`, `rocketmq_throughput_in_total`, `rocketmq_message_size`
    /// and their `_out` counterparts, `rocketmq_send_to_dlq_messages_total`.
    fn traffic(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (mut messages, mut bytes, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        for shard in &self.shards {
            for (topic, kind, counts) in &shard.messages_in {
                let labels = self.labels(
                    shard,
                    &[
                        ("topic", topic.clone()),
                        ("message_type", kind.label().to_owned()),
                        ("is_system", is_system_topic(topic).to_string()),
                    ],
                );
                messages.push((labels.clone(), counts.messages));
                bytes.push((labels.clone(), counts.bytes));
                sizes.push((labels, &counts.sizes));
            }
        }
        self.counters(encoder, "rocketmq_messages_in", messages)?;
        self.counters(encoder, "rocketmq_throughput_in", bytes)?;
        let help = ("rocketmq_message_size", "Incoming messages size", None);
        Self::histograms(encoder, help, &MESSAGE_SIZE_BUCKETS, sizes)?;
        let (mut messages, mut bytes, mut dead) = (Vec::new(), Vec::new(), Vec::new());
        for shard in &self.shards {
            for (topic, group, counts) in &shard.messages_out {
                let system = is_system_topic(topic) || is_system_group(group);
                let labels = self.labels(
                    shard,
                    &[
                        ("topic", topic.clone()),
                        ("consumer_group", group.clone()),
                        ("is_system", system.to_string()),
                    ],
                );
                messages.push((labels.clone(), counts.messages));
                bytes.push((labels, counts.bytes));
            }
            for (group, topic, count) in &shard.dead_letters {
                let labels = self.labels(
                    shard,
                    &[
                        ("topic", topic.clone()),
                        ("consumer_group", group.clone()),
                        ("is_system", is_system_group(group).to_string()),
                    ],
                );
                dead.push((labels, *count));
            }
        }
        self.counters(encoder, "rocketmq_messages_out", messages)?;
        self.counters(encoder, "rocketmq_throughput_out", bytes)?;
        self.counters(encoder, "rocketmq_send_to_dlq_messages", dead)
    }

    /// `rocketmq_half_messages`, `rocketmq_commit_messages_total`,
    /// `rocketmq_rollback_messages_total` and `rocketmq_finish_message_latency` (seconds,
    /// under Java's name and unit).
    fn transactions(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (mut commits, mut rollbacks, mut latency) = (Vec::new(), Vec::new(), Vec::new());
        for shard in &self.shards {
            for (topic, counts) in &shard.transactions {
                let labels = self.labels(shard, &[("topic", topic.clone())]);
                if counts.commits > 0 {
                    commits.push((labels.clone(), counts.commits));
                    latency.push((labels.clone(), &counts.finish_latency));
                }
                if counts.rollbacks > 0 {
                    rollbacks.push((labels, counts.rollbacks));
                }
            }
        }
        let mut half = Vec::new();
        for shard in &self.shards {
            for (topic, count) in &shard.half_messages {
                let labels = self.labels(shard, &[("topic", topic.clone())]);
                half.push((labels, i64::try_from(*count).unwrap_or(i64::MAX)));
            }
        }
        self.gauges(encoder, ("rocketmq_half_messages", None), half)?;
        self.counters(encoder, "rocketmq_commit_messages", commits)?;
        self.counters(encoder, "rocketmq_rollback_messages", rollbacks)?;
        let unit = Unit::Other("milliseconds".into());
        let help = (
            "rocketmq_finish_message_latency",
            "Transaction finish latency",
            Some(&unit),
        );
        Self::histograms(encoder, help, &FINISH_LATENCY_BUCKETS, latency)
    }

    /// `rocketmq_rpc_latency`.
    fn rpc(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut series = Vec::new();
        for shard in &self.shards {
            for ((request, response, long_polling), buckets) in &shard.rpc {
                let mut more = vec![
                    ("protocol_type", "remoting".to_owned()),
                    (
                        "request_code",
                        code_label(request_code::name(*request), *request),
                    ),
                    ("is_long_polling", long_polling.to_string()),
                ];
                if *response < 0 {
                    more.push(("result", "oneway".to_owned()));
                } else {
                    let name = response_code::name(*response);
                    more.push(("response_code", code_label(name, *response)));
                    more.push(("result", "success".to_owned()));
                }
                series.push((self.labels(shard, &more), buckets));
            }
        }
        let unit = Unit::Other("milliseconds".into());
        let help = ("rocketmq_rpc_latency", "Rpc latency", Some(&unit));
        Self::histograms(encoder, help, &RPC_LATENCY_BUCKETS, series)
    }

    /// The broker's tables, storage and connections.
    fn state(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let each = |value: fn(&ShardMetrics) -> Option<i64>, more: &[(&str, String)]| {
            let series = self
                .shards
                .iter()
                .filter_map(|shard| Some((self.labels(shard, more), value(shard)?)));
            series.collect::<Vec<(Labels, i64)>>()
        };
        let disk = [
            ("storage_medium", "disk".to_owned()),
            ("storage_type", "local".to_owned()),
        ];
        let ms = Unit::Other("milliseconds".into());
        let gauges: [Gauge; 7] = [
            (
                "rocketmq_topic_number",
                None,
                |s| Some(s.topics as i64),
                &[],
            ),
            (
                "rocketmq_consumer_group_number",
                None,
                |s| Some(s.groups as i64),
                &[],
            ),
            (
                "rocketmq_broker_permission",
                None,
                |s| Some(i64::from(s.broker_permission)),
                &[],
            ),
            (
                "rocketmq_storage_size",
                Some(&Unit::Bytes),
                |s| Some(s.storage_size).filter(|&b| b >= 0),
                &disk,
            ),
            (
                "rocketmq_storage_flush_behind_bytes",
                None,
                |s| Some(s.flush_behind_bytes as i64),
                &disk,
            ),
            (
                "rocketmq_storage_dispatch_behind_bytes",
                None,
                |s| Some(s.dispatch_behind_bytes as i64),
                &disk,
            ),
            (
                "rocketmq_storage_message_reserve_time",
                Some(&ms),
                |s| s.message_reserve_time_ms,
                &disk,
            ),
        ];
        for (name, unit, value, more) in gauges {
            self.gauges(encoder, (name, unit), each(value, more))?;
        }
        let (mut producers, mut consumers) = (Vec::new(), Vec::new());
        for shard in &self.shards {
            for ((language, version), count) in &shard.connections.producers {
                let more = [
                    ("language", language.clone()),
                    ("version", version_label(*version)),
                    ("protocol_type", "remoting".to_owned()),
                ];
                producers.push((self.labels(shard, &more), *count as i64));
            }
            for ((group, language, version, mode), count) in &shard.connections.consumers {
                let more = [
                    ("consumer_group", group.clone()),
                    ("language", language.clone()),
                    ("version", version_label(*version)),
                    ("consume_mode", (*mode).to_owned()),
                    ("protocol_type", "remoting".to_owned()),
                    ("is_system", is_system_group(group).to_string()),
                ];
                consumers.push((self.labels(shard, &more), *count as i64));
            }
        }
        self.gauges(encoder, ("rocketmq_producer_connections", None), producers)?;
        self.gauges(encoder, ("rocketmq_consumer_connections", None), consumers)
    }

    /// The consumer lag gauges, per group and topic.
    fn lag(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (mut messages, mut latency, mut inflight) = (Vec::new(), Vec::new(), Vec::new());
        for shard in &self.shards {
            for lag in &shard.consumer_lag {
                let system = is_system_topic(&lag.topic) || is_system_group(&lag.group);
                let labels = self.labels(
                    shard,
                    &[
                        ("consumer_group", lag.group.clone()),
                        ("topic", lag.topic.clone()),
                        ("is_retry", "false".to_owned()),
                        ("is_system", system.to_string()),
                    ],
                );
                messages.push((labels.clone(), lag.lag_messages));
                latency.push((labels.clone(), lag.lag_latency_ms));
                inflight.push((labels, 0));
            }
        }
        let ms = Unit::Other("milliseconds".into());
        self.gauges(
            encoder,
            ("rocketmq_consumer_lag_messages", None),
            messages.clone(),
        )?;
        self.gauges(
            encoder,
            ("rocketmq_consumer_lag_latency", Some(&ms)),
            latency.clone(),
        )?;
        self.gauges(
            encoder,
            ("rocketmq_consumer_inflight_messages", None),
            inflight,
        )?;
        // Pull positions are not tracked apart from commits: ready is the lag, and the
        // queueing latency the lag's.
        self.gauges(
            encoder,
            ("rocketmq_consumer_ready_messages", None),
            messages,
        )?;
        self.gauges(
            encoder,
            ("rocketmq_consumer_queueing_latency", Some(&ms)),
            latency,
        )
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.traffic(&mut encoder)?;
        self.transactions(&mut encoder)?;
        self.rpc(&mut encoder)?;
        self.state(&mut encoder)?;
        self.lag(&mut encoder)
    }
}
