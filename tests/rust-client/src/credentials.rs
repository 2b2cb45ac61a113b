//! `--access-key` / `--secret-key`: the account a run signs its requests with, for a broker
//! that checks RocketMQ's plain ACL (ACL 1.0).
//!
//! The client signs through an RPC hook given to the producer, consumer or admin client it
//! builds: `AclClientRPCHook` with `SessionCredentials::with_keys`, as Java's
//! `AclClientRPCHook(new SessionCredentials(ak, sk))`. The hook adds `AccessKey`, then a
//! `Signature` (Base64 HMAC-SHA1 of the ext-field values sorted by key, then the body) to every
//! request the client sends, to the NameServer as to the brokers. Without the options no hook
//! is given and requests go unsigned.

use std::sync::Arc;

use clap::Args;
use rocketmq_client_rust::{AclClientRPCHook, ClientRpcHook, SessionCredentials};

#[derive(Debug, Clone, Default, Args)]
pub struct CredentialArgs {
    /// Sign every request as this account (needs `--secret-key`).
    #[arg(long, requires = "secret_key")]
    pub(crate) access_key: Option<String>,
    /// The account's secret key, the HMAC key of the signatures (needs `--access-key`).
    #[arg(long, requires = "access_key")]
    pub(crate) secret_key: Option<String>,
}

impl CredentialArgs {
    /// The hook that signs every request, when an account was given.
    pub fn rpc_hook(&self) -> Option<Arc<ClientRpcHook>> {
        let (access_key, secret_key) = (self.access_key.as_ref()?, self.secret_key.as_ref()?);
        let credentials = SessionCredentials::with_keys(access_key.as_str(), secret_key.as_str());
        Some(Arc::new(AclClientRPCHook::new(credentials)))
    }

    /// The account's access key, for the `started` line (never the secret).
    pub fn shown(&self) -> Option<&str> {
        self.access_key.as_deref()
    }
}
