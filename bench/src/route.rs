//! Where the topic's write queues live, as a producer learns it: GET_ROUTEINFO_BY_TOPIC
//! (docs/protocol.md §2.9.1) on the NameServer, then each writable queue goes to the master
//! (broker id 0) of the broker name that hosts it. `--broker` skips the lookup with a fixed
//! set of queues on one address.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use glommio::{LocalExecutorBuilder, Placement};
use shardmq::client::Connection;
use shardmq::wire::body::{self, perm, QueueData, TopicRouteData};
use shardmq::wire::codes::request_code;
use shardmq::wire::headers::namesrv::GetRouteInfoRequestHeader;
use shardmq::wire::signature::Credentials;
use shardmq::wire::{ExtFields, RemotingCommand};

use shardmq::wire::topics::AUTO_CREATE_TOPIC_KEY_TOPIC;

use crate::args::{resolve, Target};
use crate::message::DEFAULT_TOPIC_QUEUE_NUMS;
use crate::BenchError;

/// The write queues one broker master hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerQueues {
    /// `None` with `--broker`, where the name is not known.
    pub broker_name: Option<String>,
    pub addr: SocketAddr,
    pub queue_ids: Vec<i32>,
}

/// Where producers send: `--broker`'s fixed queues, or the writable queues of the route. A
/// topic the NameServer does not know is sent by the route of TBW102, at most
/// [`DEFAULT_TOPIC_QUEUE_NUMS`] queues per broker, as a Java producer does: the broker
/// creates the topic at the first send (when `autoCreateTopicEnable` lets it) and takes
/// every queue id of the template's route.
pub fn writable(target: &Target) -> Result<Vec<BrokerQueues>, BenchError> {
    if let Some(broker) = &target.broker {
        return fixed(broker, target.queues);
    }
    let namesrv = &target.namesrv;
    let credentials = target.credentials()?;
    let discover = |topic: &str| discover(namesrv, topic, target.timeout, credentials.clone());
    match discover(&target.topic) {
        Err(error) if error.is_topic_not_exist() => {
            eprintln!(
                "topic {} does not exist yet: sending by the route of {AUTO_CREATE_TOPIC_KEY_TOPIC}, \
                 the broker creates it",
                target.topic
            );
            let template = discover(AUTO_CREATE_TOPIC_KEY_TOPIC)?;
            let mut brokers = write_queues(&template)?;
            for broker in &mut brokers {
                broker.queue_ids.truncate(DEFAULT_TOPIC_QUEUE_NUMS as usize);
            }
            Ok(brokers)
        }
        route => write_queues(&route?),
    }
}

/// Where consumers pull: `--broker`'s fixed queues, or the readable queues of the route.
pub fn readable(target: &Target) -> Result<Vec<BrokerQueues>, BenchError> {
    match &target.broker {
        Some(broker) => fixed(broker, target.queues),
        None => read_queues(&discover(
            &target.namesrv,
            &target.topic,
            target.timeout,
            target.credentials()?,
        )?),
    }
}

/// The queues of `--broker HOST:PORT --queues N`.
pub fn fixed(broker: &str, queues: u32) -> Result<Vec<BrokerQueues>, BenchError> {
    let count = i32::try_from(queues).map_err(|_| BenchError::Config("too many queues".into()))?;
    Ok(vec![BrokerQueues {
        broker_name: None,
        addr: resolve(broker)?,
        queue_ids: (0..count).collect(),
    }])
}

/// Looks `topic`'s route up on the NameServer at `namesrv`, on a short-lived executor.
pub fn discover(
    namesrv: &str,
    topic: &str,
    timeout: Duration,
    credentials: Option<Credentials>,
) -> Result<TopicRouteData, BenchError> {
    let namesrv = resolve(namesrv)?;
    let topic = topic.to_owned();
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("bench-route")
        .spawn(move || async move { lookup(namesrv, &topic, timeout, credentials.as_ref()).await })
        .map_err(|error| BenchError::Executor(error.to_string()))?
        .join()
        .map_err(|error| BenchError::Executor(error.to_string()))?
}

/// Asks the NameServer for `topic`'s route, signed with `credentials` when given. Runs on a
/// glommio executor.
pub async fn lookup(
    namesrv: SocketAddr,
    topic: &str,
    timeout: Duration,
    credentials: Option<&Credentials>,
) -> Result<TopicRouteData, BenchError> {
    let failed = |source| BenchError::Route {
        topic: topic.to_owned(),
        source,
    };
    let connection = Connection::connect(namesrv, timeout)
        .await
        .map_err(failed)?;
    let mut request = RemotingCommand::request(
        request_code::GET_ROUTEINFO_BY_TOPIC,
        ExtFields::new(),
        Bytes::new(),
    );
    request.set_header(&GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: Some(true),
    });
    crate::account::sign(&mut request, credentials);
    let response = connection.request_ok(request).await.map_err(failed)?;
    connection.close();
    body::decode(&response.body, "route").map_err(|error| BenchError::RouteBody(error.to_string()))
}

/// The writable queues of a route, per broker master, in the route's broker order. A broker
/// name without a master address is skipped, as a Java producer cannot write to it either.
pub fn write_queues(route: &TopicRouteData) -> Result<Vec<BrokerQueues>, BenchError> {
    queues_of(route, perm::WRITE, |queues| queues.write_queue_nums)
}

/// The readable queues of a route, per broker master, for consumers.
pub fn read_queues(route: &TopicRouteData) -> Result<Vec<BrokerQueues>, BenchError> {
    queues_of(route, perm::READ, |queues| queues.read_queue_nums)
}

fn queues_of(
    route: &TopicRouteData,
    permission: i32,
    count: impl Fn(&QueueData) -> i32,
) -> Result<Vec<BrokerQueues>, BenchError> {
    let mut brokers = Vec::new();
    for queues in &route.queue_datas {
        let nums = count(queues);
        if queues.perm & permission == 0 || nums <= 0 {
            continue;
        }
        let master = route
            .broker_datas
            .iter()
            .find(|broker| broker.broker_name == queues.broker_name)
            .and_then(|broker| broker.broker_addrs.get(&0));
        let Some(master) = master else { continue };
        brokers.push(BrokerQueues {
            broker_name: Some(queues.broker_name.clone()),
            addr: resolve(master)?,
            queue_ids: (0..nums).collect(),
        });
    }
    if brokers.is_empty() {
        return Err(BenchError::Config(
            "the route has no queue with the needed permission".into(),
        ));
    }
    Ok(brokers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route as a Java NameServer writes it: fastjson's unquoted numeric keys, a slave, a
    /// read-only broker and a broker name with no master.
    const ROUTE: &str = r#"{"brokerDatas":[
        {"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"c"},
        {"brokerAddrs":{0:"127.0.0.1:20911"},"brokerName":"broker-b","cluster":"c"},
        {"brokerAddrs":{1:"127.0.0.1:30921"},"brokerName":"broker-c","cluster":"c"},
        {"brokerAddrs":{0:"127.0.0.1:40911"},"brokerName":"broker-d","cluster":"c"}],
      "filterServerTable":{},
      "queueDatas":[
        {"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},
        {"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},
        {"brokerName":"broker-c","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},
        {"brokerName":"broker-d","perm":4,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

    #[test]
    fn picks_writable_queues_on_masters() {
        let route: TopicRouteData = body::decode(ROUTE.as_bytes(), "route").expect("route");
        let brokers = write_queues(&route).expect("queues");
        let summary: Vec<_> = brokers
            .iter()
            .map(|b| (b.broker_name.as_deref(), b.addr.port(), b.queue_ids.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("broker-a"), 10911, vec![0, 1, 2, 3]),
                (Some("broker-b"), 20911, vec![0, 1]),
            ]
        );
    }

    #[test]
    fn a_route_without_writable_queues_is_an_error() {
        let route: TopicRouteData = body::decode(
            br#"{"brokerDatas":[],"filterServerTable":{},"queueDatas":[]}"#,
            "route",
        )
        .expect("route");
        assert!(matches!(write_queues(&route), Err(BenchError::Config(_))));
    }

    #[test]
    fn consumers_read_read_only_queues_too() {
        let route: TopicRouteData = body::decode(ROUTE.as_bytes(), "route").expect("route");
        let brokers = read_queues(&route).expect("queues");
        let ports: Vec<_> = brokers
            .iter()
            .map(|b| (b.addr.port(), b.queue_ids.len()))
            .collect();
        assert_eq!(ports, [(10911, 4), (20911, 2), (40911, 8)]);
    }

    #[test]
    fn fixed_queues_count_from_zero() {
        let brokers = fixed("127.0.0.1:30911", 3).expect("fixed");
        assert_eq!(brokers[0].queue_ids, [0, 1, 2]);
        assert_eq!(brokers[0].broker_name, None);
    }
}
