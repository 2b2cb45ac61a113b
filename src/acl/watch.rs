//! The ACL table as every shard holds it, and shard 0's watch of its file.
//!
//! Each shard has its own copy of the table (a [`Replicated`] value: a request reads it with
//! no lock and no atomic). Shard 0 owns it: every [`POLL_INTERVAL`] it looks at the file's
//! size, modification time and inode (an editor's save and a `mv` into place both change
//! them), off the reactor; a changed file is read and parsed there too, then published to
//! every shard. When the new text is refused the table in force stays, and the reason is
//! logged once per change.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use shards::{Replicated, Shard, ShardId};

use super::{AclTable, Denied, Needs};
use crate::config::AclConfig;
use crate::wire::signature::Credentials;
use crate::wire::RemotingCommand;

/// How often shard 0 looks at the file.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The name of the replicated table.
const REPLICA: &str = "acl";

/// Reads and parses the file at `path`; the error names the file. Blocking: call it before
/// the shards start or off the reactor.
pub fn load(path: &Path) -> Result<AclTable, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the ACL file {}: {error}", path.display()))?;
    AclTable::parse(&text).map_err(|why| format!("ACL file {}: {why}", path.display()))
}

/// The ACL file `config` turns on and its table as it is now; `None` when ACL is off.
pub fn load_configured(config: &AclConfig) -> Result<Option<(PathBuf, AclTable)>, String> {
    let Some(path) = config.path().filter(|_| config.enable) else {
        return Ok(None);
    };
    let table = load(path)?;
    tracing::info!(path = %path.display(), accounts = table.accounts(), "ACL on");
    Ok(Some((path.to_owned(), table)))
}

/// Checks that `own` (a broker's `accessKey`/`secretKey`) may register with a NameServer
/// reading `table` from `path`, from any address: an admin account with that secret.
pub fn check_own_account(
    table: &AclTable,
    path: &Path,
    own: Option<&Credentials>,
) -> Result<(), String> {
    let path = path.display();
    let Some(own) = own else {
        return Err(format!(
            "aclEnable=true with the embedded NameServer: the broker signs its registrations \
             with accessKey and secretKey, which must name an admin account of {path}; set both"
        ));
    };
    let mut probe = RemotingCommand::request(0, Default::default(), Default::default());
    own.sign(&mut probe);
    let anywhere = IpAddr::from([0, 0, 0, 0]);
    table
        .check(anywhere, &probe, &Needs::admin())
        .map_err(|why| {
            format!(
                "accessKey {} cannot register with the embedded NameServer ({why}): it must \
                 name an admin account of {path}, with this secretKey",
                own.access_key
            )
        })
}

/// What identifies one version of the file without reading it.
type Stamp = (u64, u64, i64, i64, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.dev(),
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.len(),
    ))
}

/// One shard's ACL.
#[derive(Debug)]
pub struct Acl {
    table: Replicated<AclTable>,
    path: PathBuf,
}

impl Acl {
    /// This shard's copy of the table read from `path` at start (`initial`, the same on
    /// every shard); shard 0 owns it.
    pub fn new<M: Send + 'static, R: Send + 'static>(
        shard: &Shard<M, R>,
        path: PathBuf,
        initial: AclTable,
    ) -> Result<Rc<Acl>, String> {
        let table = Replicated::new(shard, REPLICA, ShardId::new(0), initial)
            .map_err(|error| error.to_string())?;
        Ok(Rc::new(Acl { table, path }))
    }

    /// [`AclTable::check`] against the table in force.
    pub fn check(
        &self,
        peer: IpAddr,
        command: &RemotingCommand,
        needs: &Needs,
    ) -> Result<(), Denied> {
        self.table.get().check(peer, command, needs).map_err(Denied)
    }

    /// The answer refusing a request from `peer` ([`Acl::check`]), `None` when it may go on:
    /// the NO_PERMISSION response (logged within the peer's share of warnings), or none to
    /// send for a oneway request.
    pub fn refusal(
        &self,
        peer: SocketAddr,
        command: &RemotingCommand,
        needs: &Needs,
    ) -> Option<Option<RemotingCommand>> {
        let denied = self.check(peer.ip(), command, needs).err()?;
        let response = RemotingCommand::refusal_to(peer, command, &denied);
        Some((!command.is_oneway()).then_some(response))
    }

    /// On shard 0, until `closing`: puts changes of the file in force on every shard.
    pub async fn follow(self: Rc<Self>, closing: impl std::future::Future<Output = ()>) {
        let mut ticker = shards::Ticker::new(POLL_INTERVAL, closing);
        let shown = self.path.display().to_string();
        let mut seen = self.off_reactor(stamp).await;
        while ticker.tick().await {
            let now = self.off_reactor(stamp).await;
            if now == seen {
                continue;
            }
            seen = now;
            match self.off_reactor(load).await {
                Ok(table) => {
                    let accounts = table.accounts();
                    match self.table.publish(table).await {
                        Ok(_) => {
                            tracing::info!(path = %shown, accounts, "ACL file changed: now in force")
                        }
                        Err(error) => {
                            tracing::error!(path = %shown, %error, "ACL table not published")
                        }
                    }
                }
                Err(error) => tracing::warn!(
                    path = %shown,
                    %error,
                    "ACL file changed but refused: the previous one stays in force"
                ),
            }
        }
    }

    /// `work` on the file's path, on a thread of its own: it touches the disk.
    async fn off_reactor<T: Send + 'static>(&self, work: fn(&Path) -> T) -> T {
        let path = self.path.clone();
        glommio::executor()
            .spawn_blocking(move || work(&path))
            .await
    }
}
