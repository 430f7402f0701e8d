//! How the C library's allocator treats memory the encoder frees.
//!
//! glibc gives a heap's free top back to the system once it passes 128 KiB,
//! and grows a thread's heap a few pages at a time. The encoder's threads
//! allocate and free megabytes every picture (each macroblock's levels, each
//! row's bits), so with those defaults every picture maps, faults in and
//! returns the same pages again: about 1 500 `mprotect` calls for 30 frames
//! of 720p at two threads. The command keeps freed memory for reuse instead
//! (720p at two threads: 6–8 % less time; 1080p unchanged within the noise);
//! what it holds stays within a few pictures' worth.
//!
//! Blocks of 1 MiB or more (frames; the encoder keeps and reuses them) are
//! still mapped on their own: carved out of a padded heap top instead,
//! zeroed ones were cleared by hand (a 1080p frame: 3 MB written before any
//! use) where fresh pages come zeroed.

/// Keeps up to 256 MiB of a heap's free top, grows heaps 16 MiB at a time
/// and maps blocks from 1 MiB on by themselves. Other C libraries are left
/// as they are.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters, before any
    // thread of ours runs; a value it refuses leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
