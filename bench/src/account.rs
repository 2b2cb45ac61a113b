//! The account that signs requests, for a broker that checks them (RocketMQ's ACL 1.0):
//! `--access-key` and `--secret-key`, else `$SHARDMQ_ACCESS_KEY` and `$SHARDMQ_SECRET_KEY`, as
//! `shardmq admin` takes them. Without an account no request changes; with one, every request
//! is signed last, once every field is set: one HMAC-SHA1 over its fields and body.

use shardmq::wire::signature::Credentials;
use shardmq::wire::RemotingCommand;

pub use shardmq::admin::AccountArgs;

use crate::BenchError;

/// The account of `args`: `None` without keys, an error naming the missing key when only
/// one is given.
pub fn credentials(args: &AccountArgs) -> Result<Option<Credentials>, BenchError> {
    args.credentials().map_err(BenchError::Config)
}

/// Signs `command` when there is an account; without one, only the check.
#[inline]
pub fn sign(command: &mut RemotingCommand, credentials: Option<&Credentials>) {
    if let Some(credentials) = credentials {
        credentials.sign(command);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use shardmq::wire::signature::{signature, ACCESS_KEY, SIGNATURE};
    use shardmq::wire::ExtFields;

    use super::*;

    #[test]
    fn signs_only_with_an_account() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "BenchTopic");
        let mut command = RemotingCommand::request(11, fields, Bytes::from_static(b"x"));
        sign(&mut command, None);
        assert_eq!(command.ext_fields.len(), 1);
        let account = Credentials::new("bench", "bench-secret");
        sign(&mut command, Some(&account));
        assert_eq!(command.ext_fields.get(ACCESS_KEY), Some("bench"));
        let given = command.ext_fields.get(SIGNATURE).expect("signed");
        assert_eq!(given, signature(&command, "bench-secret"));
    }

    #[test]
    fn one_key_alone_is_an_error() {
        let only = AccountArgs {
            access_key: Some("bench".into()),
            secret_key: None,
        };
        let error = credentials(&only).expect_err("refused").to_string();
        assert!(error.contains("secret key"), "{error}");
        assert!(credentials(&AccountArgs::default())
            .expect("none")
            .is_none());
    }
}
