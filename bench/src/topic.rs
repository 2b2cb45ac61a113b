//! `topic`: creates the benchmark topic the way `mqadmin updateTopic -c CLUSTER` does, so a
//! run meets the same queues on any RocketMQ broker whatever its auto-creation settings.
//! UPDATE_AND_CREATE_TOPIC (docs/protocol.md §2.8) goes to every broker master the NameServer's
//! cluster info lists (GET_BROKER_CLUSTER_INFO), or to `--broker` alone; then, with a
//! NameServer, the command waits until the topic's route lists each of those masters with
//! all its queues, because a broker registers a new topic with the NameServer on its own
//! schedule and a producer started before that would meet fewer queues.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use shardmq::client::{ClientOptions, Connection};
use shardmq::wire::body::{self, perm, ClusterInfo, TopicRouteData};
use shardmq::wire::codes::request_code;
use shardmq::wire::headers::admin::CreateTopicRequestHeader;
use shardmq::wire::signature::Credentials;
use shardmq::wire::topics::AUTO_CREATE_TOPIC_KEY_TOPIC;
use shardmq::wire::{ExtFields, RemotingCommand, SerializeType};

use crate::args::{resolve, Target, TopicArgs};
use crate::route;
use crate::BenchError;

/// Between two route lookups while waiting for the NameServer.
const ROUTE_POLL: Duration = Duration::from_millis(200);

/// Creates the topic and returns the masters it was created on.
pub fn run(args: &TopicArgs) -> Result<Vec<SocketAddr>, BenchError> {
    if args.target.queues == 0 {
        return Err(BenchError::Config("--queues must be at least 1".into()));
    }
    let args = args.clone();
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-topic")
        .spawn(move || async move { create(&args).await })
        .map_err(|error| BenchError::Executor(error.to_string()))?
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))?
}

async fn create(args: &TopicArgs) -> Result<Vec<SocketAddr>, BenchError> {
    let target = &args.target;
    let credentials = target.credentials()?;
    let credentials = credentials.as_ref();
    let options = ClientOptions {
        connect_timeout: target.timeout,
        request_timeout: target.timeout,
        ..ClientOptions::default()
    };
    let masters = match &target.broker {
        Some(broker) => vec![resolve(broker)?],
        None => {
            let mut request = request(target, request_code::GET_BROKER_CLUSTER_INFO);
            // The NameServer's own request: JSON, as every NameServer reads it.
            request.serialize_type = SerializeType::Json;
            let namesrv = resolve(&target.namesrv)?;
            let cluster_info = "GET_BROKER_CLUSTER_INFO";
            let response = ask(namesrv, &options, request, credentials, cluster_info).await?;
            let info: ClusterInfo = body::decode(&response.body, "cluster info")
                .map_err(|error| BenchError::RouteBody(error.to_string()))?;
            cluster_masters(&info)?
        }
    };
    for master in &masters {
        let mut request = request(target, request_code::UPDATE_AND_CREATE_TOPIC);
        request.set_header(&create_header(&target.topic, target.queues));
        ask(
            *master,
            &options,
            request,
            credentials,
            "UPDATE_AND_CREATE_TOPIC",
        )
        .await?;
    }
    if target.broker.is_none() {
        let namesrv = resolve(&target.namesrv)?;
        wait_for_route(namesrv, target, credentials, &masters, args.wait).await?;
    }
    Ok(masters)
}

/// One request on a connection of its own, signed with `credentials` when given; an error
/// answer is an error.
async fn ask(
    addr: SocketAddr,
    options: &ClientOptions,
    mut request: RemotingCommand,
    credentials: Option<&Credentials>,
    what: &'static str,
) -> Result<RemotingCommand, BenchError> {
    crate::account::sign(&mut request, credentials);
    let connection = Connection::connect_with(addr, options)
        .await
        .map_err(BenchError::Connect)?;
    let response = connection.request_ok(request).await;
    connection.close();
    response.map_err(|source| BenchError::Setup { what, source })
}

fn request(target: &Target, code: i32) -> RemotingCommand {
    let mut command = RemotingCommand::request(code, ExtFields::new(), Bytes::new());
    command.serialize_type = target.header.serialize_type();
    command
}

/// What `mqadmin updateTopic -r N -w N` sends: readable and writable, single tag.
pub fn create_header(topic: &str, queues: u32) -> CreateTopicRequestHeader {
    let queues = i32::try_from(queues).unwrap_or(i32::MAX);
    CreateTopicRequestHeader {
        topic: topic.to_owned(),
        default_topic: AUTO_CREATE_TOPIC_KEY_TOPIC.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: perm::READ | perm::WRITE,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        topic_sys_flag: Some(0),
        order: false,
        ..CreateTopicRequestHeader::default()
    }
}

/// The master (broker id 0) of every broker name in the cluster info, in name order.
pub fn cluster_masters(info: &ClusterInfo) -> Result<Vec<SocketAddr>, BenchError> {
    let masters = info
        .broker_addr_table
        .values()
        .filter_map(|broker| broker.broker_addrs.get(&0))
        .map(|addr| resolve(addr))
        .collect::<Result<Vec<_>, _>>()?;
    if masters.is_empty() {
        return Err(BenchError::Config(
            "the NameServer knows no broker master".into(),
        ));
    }
    Ok(masters)
}

/// Whether the route lists every one of `masters` with `queues` readable and writable
/// queues.
pub fn routes_all(route: &TopicRouteData, masters: &[SocketAddr], queues: u32) -> bool {
    let Ok(writable) = route::write_queues(route) else {
        return false;
    };
    let Ok(readable) = route::read_queues(route) else {
        return false;
    };
    let has = |brokers: &[route::BrokerQueues], master: &SocketAddr| {
        brokers
            .iter()
            .any(|b| b.addr == *master && b.queue_ids.len() == queues as usize)
    };
    masters
        .iter()
        .all(|master| has(&writable, master) && has(&readable, master))
}

async fn wait_for_route(
    namesrv: SocketAddr,
    target: &Target,
    credentials: Option<&Credentials>,
    masters: &[SocketAddr],
    wait: Duration,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + wait;
    loop {
        // A topic the NameServer does not know yet is an error answer: keep asking.
        let route = route::lookup(namesrv, &target.topic, target.timeout, credentials).await;
        if route.is_ok_and(|route| routes_all(&route, masters, target.queues)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Config(format!(
                "the NameServer at {namesrv} does not route {} queues of {:?} on each of {} \
                 broker(s) {:.0?} after creating it",
                target.queues,
                target.topic,
                masters.len(),
                wait
            )));
        }
        glommio::timer::sleep(ROUTE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cluster info as a Java NameServer writes it, a slave included.
    const CLUSTER: &str = r#"{"brokerAddrTable":{
        "broker-a":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"c"},
        "broker-b":{"brokerAddrs":{1:"127.0.0.1:20921"},"brokerName":"broker-b","cluster":"c"},
        "broker-c":{"brokerAddrs":{0:"127.0.0.1:30911"},"brokerName":"broker-c","cluster":"c"}},
      "clusterAddrTable":{"c":["broker-a","broker-b","broker-c"]}}"#;

    fn route(queues: &[(&str, u16, i32)]) -> TopicRouteData {
        let brokers: Vec<String> = queues
            .iter()
            .map(|(name, port, _)| {
                format!(
                    r#"{{"brokerAddrs":{{"0":"127.0.0.1:{port}"}},"brokerName":"{name}","cluster":"c"}}"#
                )
            })
            .collect();
        let datas: Vec<String> = queues
            .iter()
            .map(|(name, _, n)| {
                format!(
                    r#"{{"brokerName":"{name}","perm":6,"readQueueNums":{n},"writeQueueNums":{n}}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"brokerDatas":[{}],"queueDatas":[{}]}}"#,
            brokers.join(","),
            datas.join(",")
        );
        body::decode(text.as_bytes(), "route").expect("route")
    }

    #[test]
    fn masters_come_from_the_cluster_info() {
        let info: ClusterInfo = body::decode(CLUSTER.as_bytes(), "cluster").expect("cluster");
        let ports: Vec<u16> = cluster_masters(&info)
            .expect("masters")
            .iter()
            .map(SocketAddr::port)
            .collect();
        assert_eq!(ports, [10911, 30911]);
        assert!(cluster_masters(&ClusterInfo::default()).is_err());
    }

    #[test]
    fn the_route_must_list_every_master_with_all_its_queues() {
        let masters: Vec<SocketAddr> = ["127.0.0.1:10911", "127.0.0.1:10915"]
            .iter()
            .map(|a| a.parse().expect("addr"))
            .collect();
        let both = route(&[("a-0", 10911, 4), ("a-1", 10915, 4)]);
        assert!(routes_all(&both, &masters, 4));
        assert!(!routes_all(&both, &masters, 8), "too few queues");
        let one = route(&[("a-0", 10911, 4)]);
        assert!(!routes_all(&one, &masters, 4), "a master missing");
    }

    #[test]
    fn the_header_asks_for_a_readable_writable_topic() {
        let header = create_header("T", 1000);
        assert_eq!(
            (header.read_queue_nums, header.write_queue_nums),
            (1000, 1000)
        );
        assert_eq!(header.perm, 6);
        assert_eq!(header.default_topic, "TBW102");
        assert_eq!(header.topic_filter_type, "SINGLE_TAG");
    }
}
