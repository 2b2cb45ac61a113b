//! The C heap's settings for DMA buffers that do not fit the registered io memory.
//!
//! glommio takes a DMA buffer from its ring's registered memory ([`Config::io_memory_bytes`],
//! 10 MiB) and, once that is taken, from the global allocator, 4 KiB-aligned. glibc serves an
//! allocation of 128 KiB or more with an `mmap` of its own and unmaps it when it is freed;
//! it raises that threshold only after freeing such a mapping, so whether a process reuses
//! its freed blocks depends on the order of its first allocations. A broker reading the log
//! from disk in 1 MiB blocks that it caches and drops then paid a page fault and a zeroed
//! page for every 4 KiB it read: in a catch-up read of 1.1 million 1 KiB messages, about
//! 250,000 minor faults and 2.39 µs of CPU per message (median of six runs), against 13,000
//! faults and 1.95 µs with the thresholds below (bench/RESULTS.md, "Freed read buffers
//! reused").
//!
//! [`Config::io_memory_bytes`]: crate::Config::io_memory_bytes

/// Allocations below this come from the heap, whose freed chunks are reused: above the
/// largest buffer a shard allocates for one I/O (a 1 MiB block, aligned).
const MMAP_THRESHOLD_BYTES: i32 = 4 << 20;
/// Free memory at the top of the heap kept rather than given back to the system: a few
/// blocks' worth, so a block freed and allocated again is not faulted in again.
const TRIM_THRESHOLD_BYTES: i32 = 64 << 20;

/// Makes freed DMA buffers reusable (see the module's comment). glibc only; elsewhere the
/// allocator is left as it is.
pub(crate) fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (param, value) in [
        (libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
    ] {
        #[allow(unsafe_code)]
        // SAFETY: mallopt only sets a tunable of the allocator, under its own lock, and
        // both values are in the range glibc accepts; it touches no memory of ours.
        let set = unsafe { libc::mallopt(param, value) };
        if set != 1 {
            tracing::warn!(
                param,
                value,
                "the C heap refused a setting; large buffers may be mapped per use"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::alloc::{alloc, dealloc, Layout};

    use super::*;

    /// Page faults this thread has taken so far.
    fn minor_faults() -> i64 {
        #[allow(unsafe_code)]
        // SAFETY: getrusage writes one `rusage` into the zeroed value it is given.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut usage), 0);
            usage
        };
        usage.ru_minflt
    }

    #[test]
    fn a_freed_block_sized_buffer_is_reused_without_faulting_it_in_again() {
        keep_freed_buffers();
        let layout = Layout::from_size_align(1 << 20, 4096).expect("layout");
        let rounds = 64;
        let before = minor_faults();
        for round in 0..rounds {
            #[allow(unsafe_code)]
            // SAFETY: the layout is not zero-sized; every byte written lies in the block,
            // which is freed with the layout it was allocated with.
            unsafe {
                let block = alloc(layout);
                assert!(!block.is_null());
                block.write_bytes(round as u8, layout.size());
                dealloc(block, layout);
            }
        }
        // Mapped per use, each round would fault in all 256 pages of its block.
        let faults = minor_faults() - before;
        assert!(
            faults < 256 * rounds / 8,
            "{faults} page faults in {rounds} rounds"
        );
    }
}
