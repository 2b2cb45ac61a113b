//! The access-control keys (docs/access-control.md): `aclEnable` turns RocketMQ's plain ACL
//! on, `aclFile` says where its `plain_acl.yml` is, and `accessKey`/`secretKey` are the
//! account this broker signs its own requests with (registrations with NameServers, a
//! slave's requests to its master).

use std::path::{Path, PathBuf};

use super::values::{boolean, need, BOOL_RULE};
use super::{BrokerConfig, ConfigError, Setter};
use crate::wire::signature::Credentials;

/// The file name Java's brokers read, beside their `broker.conf` in `conf/`.
pub const ACL_FILE_NAME: &str = "plain_acl.yml";

/// The ACL settings; off by default, as in Java.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclConfig {
    /// `aclEnable`.
    pub enable: bool,
    /// `aclFile`; `None` means [`ACL_FILE_NAME`] beside the config file (`-c`).
    pub file: Option<PathBuf>,
    /// [`ACL_FILE_NAME`] beside the last config file applied, the default of `aclFile`.
    pub beside_config: Option<PathBuf>,
    /// `accessKey`.
    pub access_key: Option<String>,
    /// `secretKey`.
    pub secret_key: Option<String>,
}

impl AclConfig {
    /// The ACL file in force: `aclFile`, or the one beside the config file.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref().or(self.beside_config.as_deref())
    }

    /// What this process signs its own requests with, when both keys are set.
    pub fn credentials(&self) -> Option<Credentials> {
        match (&self.access_key, &self.secret_key) {
            (Some(access), Some(secret)) => Some(Credentials::new(access, secret)),
            _ => None,
        }
    }

    /// The keys as `broker.conf` text (GET_BROKER_CONFIG). The secret key never leaves the
    /// process: it shows as `******` when set.
    pub fn properties(&self) -> [(&'static str, String); 4] {
        let shown = |path: Option<&Path>| path.map(|p| p.display().to_string());
        [
            ("aclEnable", self.enable.to_string()),
            ("aclFile", shown(self.path()).unwrap_or_default()),
            ("accessKey", self.access_key.clone().unwrap_or_default()),
            (
                "secretKey",
                self.secret_key
                    .as_ref()
                    .map(|_| "******".to_owned())
                    .unwrap_or_default(),
            ),
        ]
    }

    /// Notes that the config file at `path` is being read: the default ACL file is beside it.
    pub(super) fn config_file_read(&mut self, path: &Path) {
        if let Ok(path) = std::path::absolute(path) {
            self.beside_config = Some(path.with_file_name(ACL_FILE_NAME));
        }
    }

    /// Sets one of the ACL keys; `None` for any other key.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Setter {
        let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        let result = match key {
            "aclEnable" => need(boolean(value), BOOL_RULE).map(|v| self.enable = v),
            "aclFile" if value.is_empty() => {
                self.file = None;
                Ok(())
            }
            "aclFile" => std::path::absolute(value)
                .map(|path| self.file = Some(path))
                .map_err(|e| format!("cannot resolve the path: {e}")),
            "accessKey" => {
                self.access_key = text(value);
                Ok(())
            }
            "secretKey" => {
                self.secret_key = text(value);
                Ok(())
            }
            _ => return None,
        };
        Some(result)
    }

    /// Checks the keys fit together: an ACL file to read when on, both halves of the
    /// credentials or neither.
    pub fn check(&self) -> Result<(), ConfigError> {
        match (&self.access_key, &self.secret_key) {
            (Some(_), None) => return Err(half_credentials("accessKey", "secretKey")),
            (None, Some(_)) => return Err(half_credentials("secretKey", "accessKey")),
            _ => {}
        }
        if self.enable && self.path().is_none() {
            return Err(ConfigError::Inconsistent(format!(
                "aclEnable=true needs the ACL file: set aclFile=<path of {ACL_FILE_NAME}> (by \
                 default it is the {ACL_FILE_NAME} beside the config file given with -c)"
            )));
        }
        Ok(())
    }
}

fn half_credentials(set: &str, missing: &str) -> ConfigError {
    ConfigError::Inconsistent(format!(
        "{set} is set without {missing}: this process signs its requests with both, or with \
         neither"
    ))
}

impl BrokerConfig {
    /// The ACL keys.
    pub(super) fn set_acl(&mut self, key: &str, value: &str) -> Setter {
        self.acl.set(key, value)
    }
}
