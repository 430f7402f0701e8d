//! The x86-64 features a build was compiled to use (`-C target-cpu`, as
//! `scripts/build-release.sh` sets it where the build machine has them),
//! checked first thing: a processor without one of them gets a message and
//! exit status 1 instead of an illegal instruction inside the encoder. The
//! check is plain branches and calls into the standard library (built for
//! any x86-64), so it runs on the processors it turns away.

/// The features beyond x86-64's baseline that a build may be compiled
/// with, each with whether this build was and whether this processor has it.
#[cfg(target_arch = "x86_64")]
macro_rules! each_feature {
    ($visit:ident) => {
        $visit!("sse3");
        $visit!("ssse3");
        $visit!("sse4.1");
        $visit!("sse4.2");
        $visit!("popcnt");
        $visit!("avx");
        $visit!("avx2");
        $visit!("bmi1");
        $visit!("bmi2");
        $visit!("fma");
        $visit!("lzcnt");
        $visit!("movbe");
        $visit!("f16c");
        $visit!("avx512f");
        $visit!("avx512bw");
        $visit!("avx512cd");
        $visit!("avx512dq");
        $visit!("avx512vl");
    };
}

/// Whether this processor has every feature this build was compiled with;
/// where it does not, says which on standard error.
#[inline(never)]
pub fn runs_here() -> bool {
    #[allow(unused_mut)]
    let mut ok = true;
    #[cfg(target_arch = "x86_64")]
    {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        macro_rules! check {
            ($name:tt) => {
                if lacks(
                    cfg!(target_feature = $name),
                    std::arch::is_x86_feature_detected!($name),
                ) {
                    if ok {
                        let _ = err.write_all(
                            b"framepress: this build uses CPU features this processor lacks:",
                        );
                    }
                    ok = false;
                    let _ = err.write_all(b" ");
                    let _ = err.write_all($name.as_bytes());
                }
            };
        }
        each_feature!(check);
        if !ok {
            let _ = err.write_all(
                b"\nIt was built for another machine: build it here with scripts/build-release.sh, \
                  or for any x86-64 processor with `cargo build --release` or \
                  FRAMEPRESS_TARGET_CPU=x86-64 scripts/build-release.sh.\n",
            );
        }
    }
    ok
}

/// A feature compiled in that the processor does not have.
fn lacks(compiled: bool, present: bool) -> bool {
    compiled && !present
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_compiled_feature_the_processor_lacks_counts() {
        assert!(lacks(true, false));
        assert!(!lacks(true, true));
        assert!(!lacks(false, false));
        assert!(!lacks(false, true));
    }
}
