//! The cluster and broker verbs: clusterList, brokerStatus, getBrokerConfig,
//! updateBrokerConfig, wipeWritePerm, addWritePerm.

use std::collections::BTreeMap;

use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Admin, AdminError, Brokers, Common};
use crate::wire::codes::request_code::*;

#[derive(Debug, Args)]
pub struct ClusterListArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct BrokerStatusArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[command(flatten)]
    brokers: Brokers,
}

#[derive(Debug, Args)]
pub struct GetBrokerConfigArgs {
    #[command(flatten)]
    pub(super) common: Common,
    #[command(flatten)]
    brokers: Brokers,
}

#[derive(Debug, Args)]
pub struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// With -c, every master (and with -a its slaves).
    #[command(flatten)]
    brokers: Brokers,
    /// With -c, the slaves too (mqadmin takes a value here and ignores it).
    #[arg(short = 'a', long = "updateAllBroker", num_args = 0..=1)]
    all: Option<Option<String>>,
    #[arg(short = 'k', long = "key")]
    key: String,
    #[arg(short = 'v', long = "value")]
    value: String,
}

#[derive(Debug, Args)]
pub struct WritePermArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// The broker's name (not its address).
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
}

/// GET_BROKER_RUNTIME_INFO's body.
#[derive(Debug, Deserialize)]
struct KvTable {
    #[serde(default)]
    table: BTreeMap<String, String>,
}

/// clusterList: GET_BROKER_CLUSTER_INFO, then GET_BROKER_RUNTIME_INFO of every address.
pub fn cluster_list(args: ClusterListArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let info = admin.cluster_info()?;
    let format = |c: [&str; 12]| {
        format!(
            "{:<22}  {:<22}  {:<4}  {:<22} {:<16}  {:>16}  {:>30}  {:<22}  {:>11}  {:<12}  {:<8}  {:>10}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
        )
    };
    let mut lines = vec![format([
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#OutTPS(LOAD)",
        "#Timer(Progress)",
        "#PCWait(ms)",
        "#Hour",
        "#SPACE",
        "#ACTIVATED",
    ])];
    let mut rows = Vec::new();
    let now = jiff::Timestamp::now().as_millisecond();
    for (cluster, names) in &info.cluster_addr_table {
        if args.cluster.as_ref().is_some_and(|only| only != cluster) {
            continue;
        }
        let mut names = names.clone();
        names.sort();
        for broker in names.iter().filter_map(|n| info.broker_addr_table.get(n)) {
            for (id, addr) in broker.addrs() {
                let kv = admin
                    .call_json::<KvTable>(addr, GET_BROKER_RUNTIME_INFO, &[])
                    .map(|kv| kv.table);
                let (kv, error) = match kv {
                    Ok(kv) => (kv, None),
                    Err(error) => {
                        // Its row still prints (as mqadmin's does), with no figures.
                        eprintln!("{error}");
                        (BTreeMap::new(), Some(error.to_string()))
                    }
                };
                let get = |key: &str, default: &str| {
                    kv.get(key).cloned().unwrap_or_else(|| default.to_owned())
                };
                let first = |key: &str| {
                    get(key, "0")
                        .split(' ')
                        .next()
                        .and_then(|t| t.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                let (tps_in, tps_out) = (first("putTps"), first("getTransferredTps"));
                let earliest: i64 = get("earliestMessageTimeStamp", "0").parse().unwrap_or(0);
                let hours = if earliest > 0 {
                    (now - earliest) as f64 / 3.6e6
                } else {
                    0.0
                };
                let space: f64 = get("commitLogDiskRatio", "0").parse().unwrap_or(0.0);
                let timer = format!(
                    "{}-{}({:.1}w, {:.1}, {:.1})",
                    get("timerReadBehind", "0"),
                    get("timerOffsetBehind", "0"),
                    get("timerCongestNum", "0").parse::<f64>().unwrap_or(0.0) / 10000.0,
                    get("timerEnqueueTps", "0").parse::<f64>().unwrap_or(0.0),
                    get("timerDequeueTps", "0").parse::<f64>().unwrap_or(0.0),
                );
                let load_in = format!(
                    "{tps_in:9.2}({},{}ms)",
                    get("sendThreadPoolQueueSize", "0"),
                    get("sendThreadPoolQueueHeadWaitTimeMills", "0")
                );
                let load_out = format!(
                    "{tps_out:9.2}({},{}ms|{},{}ms)",
                    get("pullThreadPoolQueueSize", "0"),
                    get("pullThreadPoolQueueHeadWaitTimeMills", "0"),
                    get("ackThreadPoolQueueSize", "N"),
                    get("ackThreadPoolQueueHeadWaitTimeMills", "N")
                );
                let version = get("brokerVersionDesc", "");
                let active = get("brokerActive", "false");
                lines.push(format([
                    cluster,
                    &broker.broker_name,
                    &id.to_string(),
                    addr,
                    &version,
                    &load_in,
                    &load_out,
                    &timer,
                    &get("pageCacheLockTimeMills", "0"),
                    &format!("{hours:2.2}"),
                    &format!("{space:.4}"),
                    &active,
                ]));
                rows.push(json!({
                    "cluster": cluster, "brokerName": broker.broker_name, "brokerId": id,
                    "addr": addr, "version": version, "inTps": tps_in, "outTps": tps_out,
                    "hours": hours, "space": space, "activated": active == "true",
                    "runtimeInfo": kv, "error": error,
                }));
            }
        }
    }
    admin.print(&lines, json!({ "brokers": rows }));
    Ok(())
}

/// brokerStatus: GET_BROKER_RUNTIME_INFO of one broker, or of every address of a cluster.
pub fn broker_status(args: BrokerStatusArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, true)?;
    let (mut lines, mut all) = (Vec::new(), serde_json::Map::new());
    for addr in &addrs {
        let kv: KvTable = admin.call_json(addr, GET_BROKER_RUNTIME_INFO, &[])?;
        for (key, value) in &kv.table {
            lines.push(match args.brokers.cluster {
                None => format!("{key:<32}: {value}"),
                Some(_) => format!("{addr:<24} {key:<32}: {value}"),
            });
        }
        all.insert(addr.clone(), json!(kv.table));
    }
    admin.print(&lines, Value::Object(all));
    Ok(())
}

/// getBrokerConfig: GET_BROKER_CONFIG of one broker, or of every address of a cluster.
pub fn get_broker_config(args: GetBrokerConfigArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, true)?;
    let (mut lines, mut all) = (Vec::new(), serde_json::Map::new());
    for addr in &addrs {
        let response = admin.call(addr, GET_BROKER_CONFIG, &[], b"")?;
        let text = String::from_utf8_lossy(&response.body);
        let keys = crate::config::parse_properties(&text).map_err(|e| AdminError::Unreadable {
            addr: addr.clone(),
            what: format!("a configuration that is not properties text: {e}"),
        })?;
        lines.push(format!("============{addr}============"));
        if keys.is_empty() {
            lines.push(format!("Broker[{addr}] has no config property!"));
        }
        let mut map = serde_json::Map::new();
        for entry in keys {
            lines.push(format!("{:<50}=  {}", entry.key, entry.value));
            map.insert(entry.key, Value::String(entry.value));
        }
        lines.push(String::new());
        all.insert(addr.clone(), Value::Object(map));
    }
    admin.print(&lines, Value::Object(all));
    Ok(())
}

/// updateBrokerConfig: UPDATE_BROKER_CONFIG with one `key=value` to one broker or to a
/// cluster's masters (and slaves with -a).
pub fn update_broker_config(args: UpdateBrokerConfigArgs) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let addrs = admin.addresses(&args.brokers, args.all.is_some())?;
    let body = format!("{}={}\n", args.key, args.value);
    let mut lines = Vec::new();
    for addr in &addrs {
        admin.call(addr, UPDATE_BROKER_CONFIG, &[], body.as_bytes())?;
        lines.push(format!("update broker config success, {addr}"));
    }
    admin.print(
        &lines,
        json!({ "updated": addrs, "key": args.key, "value": args.value }),
    );
    Ok(())
}

/// wipeWritePerm / addWritePerm: WIPE_WRITE_PERM_OF_BROKER or ADD_WRITE_PERM_OF_BROKER at
/// every NameServer of -n, each answering how many topics it changed.
pub fn write_perm(args: WritePermArgs, add: bool) -> Result<(), AdminError> {
    let admin = Admin::new(&args.common);
    let (code, count_field, verb) = match add {
        true => (ADD_WRITE_PERM_OF_BROKER, "addTopicCount", "add"),
        false => (WIPE_WRITE_PERM_OF_BROKER, "wipeTopicCount", "wipe"),
    };
    let name = &args.broker_name;
    let (mut lines, mut counts, mut failed) = (Vec::new(), serde_json::Map::new(), None);
    for addr in &admin.namesrvs {
        match admin.call(addr, code, &[("brokerName", name.clone())], b"") {
            Ok(response) => {
                let count = response
                    .ext_fields
                    .get(count_field)
                    .unwrap_or("0")
                    .to_owned();
                lines.push(format!(
                    "{verb} write perm of broker[{name}] in name server[{addr}] OK, {count}"
                ));
                counts.insert(addr.clone(), json!(count.parse::<i64>().unwrap_or(0)));
            }
            Err(error) => {
                lines.push(format!(
                    "{verb} write perm of broker[{name}] in name server[{addr}] Failed"
                ));
                eprintln!("{error}");
                failed = Some(error);
            }
        }
    }
    admin.print(&lines, json!({ "brokerName": name, count_field: counts }));
    failed.map_or(Ok(()), Err)
}
