//! `plain_acl.yml`, Java's plain ACL file (docs/access-control.md §1), read into an
//! [`AclTable`].
//!
//! The file is read strictly, so a typo never turns into a silent permission: an unknown key,
//! a permission other than `PUB`, `SUB`, `PUB|SUB`, `SUB|PUB` or `DENY`, an address in no
//! known form, a repeated access key, or keys of 6 characters or fewer (Java's rule) make the
//! whole file refused, naming the account and the key. Scalars are read as the text written
//! (a secret of `0123456` stays `0123456`); `dataVersion`, which Java's tools write, is
//! accepted and not used.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::address::AddressPattern;
use super::{Account, AclTable, Perm};
use crate::wire::signature::SigningKey;

/// The shortest access or secret key Java refuses; one character more is the least allowed.
const KEY_MIN_REFUSED: usize = 6;

/// The table the text of a `plain_acl.yml` describes, or why it cannot be used.
pub fn parse(text: &str) -> Result<AclTable, String> {
    let root = Tree::read(text)?;
    let mut table = AclTable::default();
    let Some(entries) = root.mapping("the file")? else {
        return Ok(table);
    };
    for (key, value) in entries {
        match key.as_str() {
            "globalWhiteRemoteAddresses" => {
                for text in value.strings("globalWhiteRemoteAddresses")? {
                    let pattern = AddressPattern::parse(&text)
                        .map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))?;
                    table.global_white.extend(pattern);
                }
            }
            "accounts" => {
                for (index, entry) in value.sequence("accounts")?.into_iter().enumerate() {
                    let (access_key, account) = account(entry, index)?;
                    if table.accounts.insert(access_key.clone(), account).is_some() {
                        return Err(format!("accounts: accessKey {access_key} is listed twice"));
                    }
                }
            }
            "dataVersion" => {}
            other => {
                return Err(format!(
                    "unknown key `{other}` (expected globalWhiteRemoteAddresses, accounts, \
                     dataVersion)"
                ))
            }
        }
    }
    Ok(table)
}

/// One entry of `accounts`, the `index`th.
fn account(entry: Tree, index: usize) -> Result<(String, Account), String> {
    let place = format!("accounts[{index}]");
    let entries = entry
        .mapping(&place)?
        .ok_or_else(|| format!("{place}: an empty account"))?;
    let (mut access_key, mut secret_key) = (None, None);
    let mut account = Account::default();
    let mut perms = Vec::new();
    for (key, value) in entries {
        let named = |key: &str| format!("{place}.{key}");
        match key.as_str() {
            "accessKey" => access_key = value.string(&named("accessKey"))?,
            "secretKey" => secret_key = value.string(&named("secretKey"))?,
            "whiteRemoteAddress" => {
                let text = value.string(&named("whiteRemoteAddress"))?;
                account.white = match text {
                    Some(text) => AddressPattern::parse(&text)
                        .map_err(|e| format!("{}: {e}", named("whiteRemoteAddress")))?,
                    None => None,
                };
            }
            "admin" => {
                account.admin = match value.string(&named("admin"))?.as_deref() {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(other) => {
                        return Err(format!(
                            "{}: `{other}`, expected true or false",
                            named(&key)
                        ))
                    }
                }
            }
            "defaultTopicPerm" | "defaultGroupPerm" => {
                let perm = match value.string(&named(&key))? {
                    Some(text) => perm(&text).map_err(|e| format!("{}: {e}", named(&key)))?,
                    None => Perm::DENY,
                };
                match key.as_str() {
                    "defaultTopicPerm" => account.default_topic = perm,
                    _ => account.default_group = perm,
                }
            }
            "topicPerms" | "groupPerms" => {
                let groups = key == "groupPerms";
                for text in value.strings(&named(&key))? {
                    perms.push((groups, text, named(&key)));
                }
            }
            other => return Err(format!("{place}: unknown key `{other}`")),
        }
    }
    let access_key = access_key.ok_or_else(|| format!("{place}: no accessKey"))?;
    let place = format!("account {access_key}");
    let secret_key = secret_key.ok_or_else(|| format!("{place}: no secretKey"))?;
    if access_key.chars().count() <= KEY_MIN_REFUSED
        || secret_key.chars().count() <= KEY_MIN_REFUSED
    {
        return Err(format!(
            "{place}: accessKey and secretKey must be longer than {KEY_MIN_REFUSED} characters"
        ));
    }
    account.key = SigningKey::new(&secret_key);
    for (groups, text, key) in perms {
        let (name, given) = text
            .split_once('=')
            .ok_or_else(|| format!("{place}, {key}: `{text}`, expected name=PERM"))?;
        let perm = perm(given).map_err(|e| format!("{place}, {key}: {e}"))?;
        let table = match groups {
            true => &mut account.groups,
            false => &mut account.topics,
        };
        table.insert(name.trim().to_owned(), perm);
    }
    Ok((access_key, account))
}

/// A permission as Java writes it.
fn perm(text: &str) -> Result<Perm, String> {
    match text.trim() {
        "PUB" => Ok(Perm::PUB),
        "SUB" => Ok(Perm::SUB),
        "PUB|SUB" | "SUB|PUB" => Ok(Perm(Perm::PUB.0 | Perm::SUB.0)),
        "DENY" => Ok(Perm::DENY),
        other => Err(format!(
            "`{other}` is not a permission (PUB, SUB, PUB|SUB, SUB|PUB or DENY)"
        )),
    }
}

/// The file as a tree whose scalars keep the text written.
#[derive(Debug)]
enum Tree {
    /// A scalar; `None` for YAML's null (`~`, `null` or nothing, unquoted).
    Scalar(Option<String>),
    Sequence(Vec<Tree>),
    Mapping(Vec<(String, Tree)>),
}

impl Tree {
    fn read(text: &str) -> Result<Tree, String> {
        let mut builder = Builder::default();
        Parser::new_from_str(text)
            .load(&mut builder, false)
            .map_err(|e| format!("not YAML: {e}"))?;
        if let Some(error) = builder.error {
            return Err(error);
        }
        Ok(builder.done.pop().unwrap_or(Tree::Scalar(None)))
    }

    /// The entries of a mapping; `None` for null (an empty file).
    fn mapping(self, place: &str) -> Result<Option<Vec<(String, Tree)>>, String> {
        match self {
            Tree::Mapping(entries) => Ok(Some(entries)),
            Tree::Scalar(None) => Ok(None),
            _ => Err(format!("{place}: expected a mapping of keys")),
        }
    }

    /// The items of a sequence; none for null.
    fn sequence(self, place: &str) -> Result<Vec<Tree>, String> {
        match self {
            Tree::Sequence(items) => Ok(items),
            Tree::Scalar(None) => Ok(Vec::new()),
            _ => Err(format!("{place}: expected a list (`- item` lines)")),
        }
    }

    fn string(self, place: &str) -> Result<Option<String>, String> {
        match self {
            Tree::Scalar(text) => Ok(text),
            _ => Err(format!("{place}: expected one value")),
        }
    }

    /// A list of strings, nulls left out.
    fn strings(self, place: &str) -> Result<Vec<String>, String> {
        let mut strings = Vec::new();
        for item in self.sequence(place)? {
            strings.extend(item.string(place)?);
        }
        Ok(strings)
    }
}

/// Builds a [`Tree`] from the parser's events.
#[derive(Default)]
struct Builder {
    /// Open sequences and mappings; a mapping's pending key waits beside it.
    open: Vec<(Tree, Option<String>)>,
    done: Vec<Tree>,
    error: Option<String>,
}

impl Builder {
    fn add(&mut self, node: Tree, at: Marker) {
        let Some((parent, key)) = self.open.last_mut() else {
            self.done.push(node);
            return;
        };
        match parent {
            Tree::Sequence(items) => items.push(node),
            Tree::Mapping(entries) => match (key.take(), node) {
                (Some(key), node) => entries.push((key, node)),
                (None, Tree::Scalar(Some(text))) => *key = Some(text),
                (None, _) => self.fail(at, "a key that is not a plain text"),
            },
            Tree::Scalar(_) => {}
        }
    }

    fn fail(&mut self, at: Marker, what: &str) {
        self.error
            .get_or_insert_with(|| format!("line {} column {}: {what}", at.line(), at.col() + 1));
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, at: Marker) {
        match event {
            Event::Scalar(text, style, ..) => {
                let null = style == TScalarStyle::Plain
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
                self.add(Tree::Scalar((!null).then_some(text)), at);
            }
            Event::SequenceStart(..) => self.open.push((Tree::Sequence(Vec::new()), None)),
            Event::MappingStart(..) => self.open.push((Tree::Mapping(Vec::new()), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.open.pop() {
                    self.add(node, at);
                }
            }
            Event::Alias(_) => self.fail(at, "anchors and aliases are not supported"),
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
