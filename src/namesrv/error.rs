//! Why a NameServer request failed, and the RocketMQ response code and remark each reason
//! gets ([`Refusal`]).

use std::fmt;

use crate::limits;
use crate::wire::body::BodyError;
use crate::wire::codes::response_code;
use crate::wire::register_body::RegisterBodyError;
use crate::wire::{HeaderError, Refusal};

/// A NameServer request that cannot be served as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamesrvError {
    Header(HeaderError),
    Body(BodyError),
    /// A request that needs a body came without one.
    MissingBody {
        what: &'static str,
    },
    /// REGISTER_BROKER with `compressed=true` whose body cannot be read.
    CompressedBody(RegisterBodyError),
    /// REGISTER_BROKER whose body does not match its `bodyCrc32`.
    BodyCrcMismatch,
    TopicNotExist(String),
    /// GET_KV_CONFIG / GET_KVLIST_BY_NAMESPACE for an absent entry.
    KvNotFound {
        namespace: String,
        key: Option<String>,
    },
    TooManyBrokers,
    TooManyTopics,
    TooManyKvEntries,
    /// A KV change held in memory but not written to `kvConfigPath` (the log names the
    /// file; a remark never does).
    KvNotSaved,
}

impl Refusal for NamesrvError {
    /// The response code Java's NameServer answers with. Java turns a header or body it
    /// cannot read into an exception, which its remoting layer answers with SYSTEM_ERROR;
    /// the remark says what to fix.
    fn response_code(&self) -> i32 {
        match self {
            NamesrvError::Header(_)
            | NamesrvError::Body(_)
            | NamesrvError::MissingBody { .. }
            | NamesrvError::CompressedBody(_)
            | NamesrvError::BodyCrcMismatch => response_code::SYSTEM_ERROR,
            NamesrvError::TopicNotExist(_) => response_code::TOPIC_NOT_EXIST,
            NamesrvError::KvNotFound { .. } => response_code::QUERY_NOT_FOUND,
            NamesrvError::TooManyBrokers
            | NamesrvError::TooManyTopics
            | NamesrvError::TooManyKvEntries
            | NamesrvError::KvNotSaved => response_code::SYSTEM_ERROR,
        }
    }

    /// A route or KV entry that is not there is a client's everyday lookup.
    fn is_routine(&self) -> bool {
        matches!(
            self,
            NamesrvError::TopicNotExist(_) | NamesrvError::KvNotFound { .. }
        )
    }
}

impl fmt::Display for NamesrvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamesrvError::Header(err) => err.fmt(f),
            NamesrvError::Body(err) => err.fmt(f),
            NamesrvError::MissingBody { what } => write!(f, "the {what} is missing"),
            NamesrvError::CompressedBody(err) => err.fmt(f),
            // Java's exact remark, which its broker logs.
            NamesrvError::BodyCrcMismatch => f.write_str("crc32 not match"),
            NamesrvError::TopicNotExist(topic) => {
                write!(
                    f,
                    "No topic route info in name server for the topic: {topic}"
                )
            }
            NamesrvError::KvNotFound {
                namespace,
                key: Some(key),
            } => write!(f, "No config item, Namespace: {namespace} Key: {key}"),
            NamesrvError::KvNotFound {
                namespace,
                key: None,
            } => write!(f, "No config item, Namespace: {namespace}"),
            NamesrvError::TooManyBrokers => write!(
                f,
                "the name server already tracks {} broker addresses",
                limits::NAMESRV_BROKER_ADDRS_MAX
            ),
            NamesrvError::TooManyTopics => write!(
                f,
                "the name server already routes {} topics",
                limits::NAMESRV_TOPICS_MAX
            ),
            NamesrvError::TooManyKvEntries => write!(
                f,
                "the name server already holds {} KV config entries",
                limits::NAMESRV_KV_ENTRIES_MAX
            ),
            NamesrvError::KvNotSaved => f.write_str(
                "the KV config changed but could not be saved; the name server's log says why",
            ),
        }
    }
}

impl std::error::Error for NamesrvError {}

impl From<HeaderError> for NamesrvError {
    fn from(err: HeaderError) -> Self {
        NamesrvError::Header(err)
    }
}

impl From<BodyError> for NamesrvError {
    fn from(err: BodyError) -> Self {
        NamesrvError::Body(err)
    }
}

impl From<RegisterBodyError> for NamesrvError {
    fn from(err: RegisterBodyError) -> Self {
        NamesrvError::CompressedBody(err)
    }
}
