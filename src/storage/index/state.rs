//! The index's state page (`index/state`): what the IndexFiles durably hold, written like the
//! checkpoint in two slots, the valid one with the higher sequence number winning, so a torn
//! write loses one state, never the index.

use std::path::PathBuf;

use super::file::{Geometry, Header};
use crate::storage::checkpoint::SlotPages;
use crate::storage::error::StoreResult;
use crate::storage::io::Disk;

/// What the state page records (see [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct IndexState {
    /// The newest durable file, 0 for none; newer files are deleted at recovery.
    pub(super) file: u64,
    /// That file's durable header.
    pub(super) header: Header,
    /// Every record below this log offset is in the durable files.
    pub(super) covered: u64,
    /// Non-zero while the file's slot pages may be partly rewritten: they may then reference
    /// entries up to here, which are synced.
    pub(super) slots_dirty_to: u32,
    /// The geometry of every file.
    pub(super) geo: Option<Geometry>,
}

const STATE_MAGIC: u32 = 0x5348_4958; // "SHIX"
const STATE_BODY: usize = 84;

/// The state page file: two slots written alternately, the valid one with the higher
/// sequence number wins, as in the store's checkpoint.
#[derive(Debug)]
pub(super) struct StateFile(SlotPages);

impl StateFile {
    pub(super) async fn open(
        disk: &Disk,
        path: PathBuf,
    ) -> StoreResult<(StateFile, Option<IndexState>)> {
        let (pages, state) = SlotPages::open(disk, path, decode_state).await?;
        Ok((StateFile(pages), state))
    }

    pub(super) async fn write(&self, state: &IndexState) -> StoreResult<()> {
        self.0.write(|seq, b| encode_state(state, seq, b)).await
    }
}

fn encode_state(state: &IndexState, seq: u64, b: &mut [u8]) {
    b[..8].copy_from_slice(&state.file.to_be_bytes());
    b[8..48].copy_from_slice(&state.header.encode());
    b[48..56].copy_from_slice(&state.covered.to_be_bytes());
    b[56..60].copy_from_slice(&state.slots_dirty_to.to_be_bytes());
    let geo = state.geo.expect("a written state has a geometry");
    b[60..64].copy_from_slice(&geo.slots.to_be_bytes());
    b[64..68].copy_from_slice(&geo.entries.to_be_bytes());
    b[68..76].copy_from_slice(&seq.to_be_bytes());
    b[76..80].copy_from_slice(&STATE_MAGIC.to_be_bytes());
    let crc = crc32fast::hash(&b[..80]);
    b[80..STATE_BODY].copy_from_slice(&crc.to_be_bytes());
}

fn decode_state(b: &[u8]) -> Option<(u64, IndexState)> {
    if b.len() < STATE_BODY {
        return None;
    }
    let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8"));
    let u32_at = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().expect("4"));
    if u32_at(76) != STATE_MAGIC || u32_at(80) != crc32fast::hash(&b[..80]) {
        return None;
    }
    let state = IndexState {
        file: u64_at(0),
        header: Header::decode(&b[8..48]),
        covered: u64_at(48),
        slots_dirty_to: u32_at(56),
        geo: Some(Geometry {
            slots: u32_at(60),
            entries: u32_at(64),
        }),
    };
    Some((u64_at(68), state))
}
