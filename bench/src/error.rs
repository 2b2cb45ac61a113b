//! The harness's one error type: everything that stops a run before it measures anything.

use std::fmt;

use shardmq::client::ClientError;
use shardmq::wire::codes::response_code;

#[derive(Debug)]
pub enum BenchError {
    /// A command-line value that parses but cannot be used (an address that does not resolve,
    /// a route with no writable queue).
    Config(String),
    /// The NameServer lookup failed.
    Route { topic: String, source: ClientError },
    /// A route body that does not parse.
    RouteBody(String),
    /// No connection to a broker could be opened.
    Connect(ClientError),
    /// A request that prepares the run failed (a consumer's start offset).
    Setup {
        what: &'static str,
        source: ClientError,
    },
    /// An executor thread could not start or panicked.
    Executor(String),
    /// The broker the harness started did not start, listen or stop as it should.
    Broker(String),
    /// The JSON report could not be written.
    Io(std::io::Error),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Config(message) => write!(f, "{message}"),
            BenchError::Route { topic, source } => {
                write!(f, "route lookup of topic {topic:?} failed: {source}")
            }
            BenchError::RouteBody(message) => write!(f, "bad route body: {message}"),
            BenchError::Connect(source) => write!(f, "cannot connect: {source}"),
            BenchError::Setup { what, source } => write!(f, "{what} failed: {source}"),
            BenchError::Executor(message) => write!(f, "executor: {message}"),
            BenchError::Broker(message) => write!(f, "broker: {message}"),
            BenchError::Io(source) => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for BenchError {}

impl BenchError {
    /// The NameServer answered that the topic has no route (TOPIC_NOT_EXIST).
    pub fn is_topic_not_exist(&self) -> bool {
        matches!(
            self,
            BenchError::Route {
                source: ClientError::Remote { code, .. },
                ..
            } if *code == response_code::TOPIC_NOT_EXIST
        )
    }
}

impl From<std::io::Error> for BenchError {
    fn from(source: std::io::Error) -> Self {
        BenchError::Io(source)
    }
}
