//! Optional stage timing with CUDA events: set `FRAMEPRESS_CUDA_PROFILE=1`
//! and each batch prints the GPU time of its stages to stderr.

use cudarc::driver::sys::{CUevent, CUevent_flags};
use cudarc::driver::{result, CudaStream};

/// Events recorded between the stages of one batch.
pub(crate) struct Profiler {
    marks: Vec<(&'static str, CUevent)>,
}

/// Names of the intra kernel's timed phases (PHASES in intra.cu).
pub(crate) const INTRA_PHASES: [&str; 12] = [
    "load",
    "i16 decision",
    "i4 coding",
    "chroma",
    "i16 coding",
    "bit bound",
    "store",
    "(i4: edges",
    "i4: mode costs",
    "i4: min",
    "i4: transforms",
    "i4: store)",
];

/// Prints the intra kernel's cycles per macroblock per phase from its counters
/// (INTRA_PHASES sums, then the macroblock count).
pub(crate) fn report_phases(counters: &[u64]) {
    let mbs = counters
        .get(INTRA_PHASES.len())
        .copied()
        .unwrap_or(0)
        .max(1);
    let mut line = format!("framepress-cuda: intra cycles per macroblock ({mbs} macroblocks):");
    for (name, c) in INTRA_PHASES.iter().zip(counters) {
        line.push_str(&format!(" {name} {};", c / mbs));
    }
    eprintln!("{line}");
}

impl Profiler {
    /// A profiler when `FRAMEPRESS_CUDA_PROFILE=1`, else `None`.
    pub fn from_env() -> Option<Profiler> {
        let on = std::env::var("FRAMEPRESS_CUDA_PROFILE").is_ok_and(|v| v == "1");
        on.then(|| Profiler { marks: Vec::new() })
    }

    /// Records that the stream has reached the end of stage `name`.
    pub fn mark(&mut self, stream: &CudaStream, name: &'static str) {
        let Ok(event) = result::event::create(CUevent_flags::CU_EVENT_DEFAULT) else {
            return;
        };
        // SAFETY: `event` is live and the stream belongs to the current context.
        if unsafe { result::event::record(event, stream.cu_stream()) }.is_ok() {
            self.marks.push((name, event));
        }
    }

    /// Prints the time between marks (the stream must have passed them).
    pub fn report(&self, frames: usize) {
        let mut line = format!("framepress-cuda: {frames} frames:");
        let mut total = 0.0;
        for pair in self.marks.windows(2) {
            // SAFETY: both events were recorded and have completed.
            if let Ok(ms) = unsafe { result::event::elapsed(pair[0].1, pair[1].1) } {
                line.push_str(&format!(" {} {ms:.3} ms;", pair[1].0));
                total += ms;
            }
        }
        eprintln!("{line} total {total:.3} ms");
    }
}

// SAFETY: CUDA event handles may be used from any thread; the encoder that
// owns the profiler binds its context before using them.
unsafe impl Send for Profiler {}

impl Drop for Profiler {
    fn drop(&mut self) {
        for &(_, e) in &self.marks {
            // SAFETY: each event is destroyed once.
            let _ = unsafe { result::event::destroy(e) };
        }
    }
}
