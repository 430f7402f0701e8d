//! Links libopus for Opus audio when the `opus` feature (on by default) is
//! enabled and pkg-config finds libopus 1.1 or newer. Without it the library
//! still builds, with PCM audio only (asking for Opus is then a clear error),
//! so video encoding never depends on an audio library being installed.
//! FRAMEPRESS_REQUIRE_OPUS=1 turns a missing libopus into a build error.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FRAMEPRESS_REQUIRE_OPUS");
    println!("cargo::rustc-check-cfg=cfg(framepress_opus)");
    if std::env::var_os("CARGO_FEATURE_OPUS").is_none() {
        return;
    }
    match pkg_config::Config::new()
        .atleast_version("1.1")
        .probe("opus")
    {
        Ok(_) => println!("cargo:rustc-cfg=framepress_opus"),
        Err(e) => {
            let hint =
                "install libopus's development files (Debian/Ubuntu: apt-get install libopus-dev) \
                        for Opus audio; building with PCM audio only";
            if std::env::var("FRAMEPRESS_REQUIRE_OPUS").is_ok_and(|v| v == "1") {
                eprintln!("\nframepress: libopus 1.1 or newer was not found: {e}\n{hint}\n");
                std::process::exit(1);
            }
            println!(
                "cargo:warning=libopus not found ({}): {hint}",
                e.to_string().lines().next().unwrap_or("")
            );
        }
    }
}
