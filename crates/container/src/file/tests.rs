use super::*;
use crate::testutil::{parse_mp4, track, TempDir};
use crate::{create_file, ContainerKind};

fn key() -> Vec<Vec<u8>> {
    vec![vec![0x65, 0x88, 0x84, 0x21]]
}

fn partial_names(dir: &TempDir) -> Vec<String> {
    dir.entries()
        .into_iter()
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn create_file_mp4_appears_only_after_finish() {
    let dir = TempDir::new("mp4-ok");
    let path = dir.path().join("clip.mp4");
    let mut m = create_file(&path, ContainerKind::Mp4, &track(64, 48, 30, 1)).unwrap();
    m.write_sample(&key(), true).unwrap();
    m.write_sample(&[vec![0x41, 0x9A]], false).unwrap();
    // While writing: only the hidden temporary file exists.
    assert!(!path.exists());
    let temp = partial_names(&dir);
    assert_eq!(temp.len(), 1, "{:?}", dir.entries());
    assert!(temp[0].starts_with(".clip.mp4.partial-"), "{temp:?}");

    let n = m.finish().unwrap();
    assert_eq!(dir.entries(), ["clip.mp4"]);
    let data = std::fs::read(&path).unwrap();
    assert_eq!(data.len() as u64, n);
    let info = parse_mp4(&data, n);
    assert_eq!(info.top, ["ftyp", "moov", "mdat"]);
    assert_eq!(info.stsz, [8, 6]);
    assert_eq!(info.stss, [1]);
}

#[test]
fn create_file_annexb_writes_the_stream() {
    let dir = TempDir::new("h264-ok");
    let path = dir.path().join("clip.H264");
    let t = track(64, 48, 30, 1);
    let mut m = create_file(&path, ContainerKind::AnnexB, &t).unwrap();
    m.write_sample(&key(), true).unwrap();
    let n = m.finish().unwrap();
    assert_eq!(dir.entries(), ["clip.H264"]);
    let mut want = Vec::new();
    for nal in [&t.sps[..], &t.pps[..], &key()[0][..]] {
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(nal);
    }
    assert_eq!(std::fs::read(&path).unwrap(), want);
    assert_eq!(n, want.len() as u64);
}

#[test]
fn dropped_muxer_leaves_nothing_behind() {
    for kind in [ContainerKind::Mp4, ContainerKind::AnnexB] {
        let dir = TempDir::new("drop");
        let path = dir.path().join("clip.out");
        let mut m = create_file(&path, kind, &track(64, 48, 30, 1)).unwrap();
        m.write_sample(&key(), true).unwrap();
        assert_eq!(partial_names(&dir).len(), 1);
        drop(m);
        assert!(dir.entries().is_empty(), "{kind:?}: {:?}", dir.entries());
    }
}

#[test]
fn failed_finish_leaves_nothing_and_keeps_an_existing_target() {
    for kind in [ContainerKind::Mp4, ContainerKind::AnnexB] {
        let dir = TempDir::new("nofr");
        let path = dir.path().join("clip.out");
        std::fs::write(&path, b"previous").unwrap();
        let m = create_file(&path, kind, &track(64, 48, 30, 1)).unwrap();
        let e = m.finish().unwrap_err();
        assert!(matches!(e, Error::NoFrames { .. }), "{e:?}");
        assert_eq!(dir.entries(), ["clip.out"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    }
}

#[test]
fn existing_target_is_replaced_on_success() {
    let dir = TempDir::new("replace");
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, b"previous").unwrap();
    let mut m = create_file(&path, ContainerKind::Mp4, &track(64, 48, 30, 1)).unwrap();
    m.write_sample(&key(), true).unwrap();
    let n = m.finish().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), n);
    assert_eq!(dir.entries(), ["clip.mp4"]);
}

#[test]
fn disk_full_on_a_real_file_removes_the_temporary_file() {
    for (kind, limit) in [
        (ContainerKind::Mp4, 20),      // fails in the ftyp/mdat header
        (ContainerKind::Mp4, 200),     // fails on a sample
        (ContainerKind::Mp4, 100_100), // 100_088 bytes of samples fit; finish fails
        (ContainerKind::AnnexB, 60),   // fails on a sample
    ] {
        let dir = TempDir::new("full");
        let path = dir.path().join("clip.out");
        let t = track(64, 48, 30, 1);
        let mut out = PartialFile::create(&path).unwrap();
        out.fail_after = Some(limit);
        assert!(out.temp_path().exists());
        let result = muxer_for(out, &path, kind, &t).and_then(|mut m| {
            for i in 0..10 {
                m.write_video(0, &[vec![0x65; 10_000]], i == 0)?;
            }
            m.finish()
        });
        let e = result.unwrap_err();
        assert!(e.is_disk_full(), "{kind:?}/{limit}: {e:?}");
        let msg = e.to_string();
        assert!(msg.starts_with("disk full while writing '"), "{msg}");
        assert!(
            msg.contains("clip.out"),
            "the message names the target: {msg}"
        );
        assert!(
            dir.entries().is_empty(),
            "{kind:?}/{limit}: {:?}",
            dir.entries()
        );
    }
}

#[test]
fn missing_directory_gives_a_create_error() {
    let dir = TempDir::new("nodir");
    let path = dir.path().join("no/such/dir/clip.mp4");
    let e = create_file(&path, ContainerKind::Mp4, &track(64, 48, 30, 1))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Create { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.starts_with("cannot create output file '"), "{msg}");
    assert!(msg.contains("clip.mp4"), "{msg}");
    assert!(
        msg.ends_with("check that the directory exists and is writable"),
        "{msg}"
    );
}

#[test]
fn invalid_track_creates_no_file() {
    let dir = TempDir::new("badtrack");
    let path = dir.path().join("clip.mp4");
    let e = create_file(&path, ContainerKind::Mp4, &track(64, 48, 30, 0))
        .err()
        .unwrap();
    assert!(matches!(e, Error::InvalidTrack(_)), "{e:?}");
    assert!(dir.entries().is_empty());
}

#[test]
fn rename_onto_a_directory_fails_cleanly() {
    let dir = TempDir::new("ontodir");
    let path = dir.path().join("clip.mp4");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), b"x").unwrap();
    let mut m = create_file(&path, ContainerKind::Mp4, &track(64, 48, 30, 1)).unwrap();
    m.write_sample(&key(), true).unwrap();
    let e = m.finish().unwrap_err();
    assert!(matches!(e, Error::Rename { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot move the finished file into place"),
        "{e}"
    );
    assert_eq!(dir.entries(), ["clip.mp4"]);
    assert!(path.is_dir());
}

#[test]
fn path_without_a_file_name_is_rejected() {
    let e = create_file(Path::new(".."), ContainerKind::Mp4, &track(64, 48, 30, 1))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Create { .. }), "{e:?}");
}

#[test]
fn muxer_is_send() {
    fn send<T: Send>(_: &T) {}
    let dir = TempDir::new("send");
    let m = create_file(
        &dir.path().join("a.mp4"),
        ContainerKind::Mp4,
        &track(64, 48, 30, 1),
    )
    .unwrap();
    send(&m);
}

/// A crash-safe muxer writing `path`, with its first fragment complete (so the
/// file is in place) and a second one open.
fn published_muxer(path: &Path, kind: ContainerKind) -> Box<dyn crate::Muxer + Send> {
    let options = crate::MuxOptions {
        fragmentation: crate::Fragmentation::Keyframes,
    };
    let tracks = [crate::Track::Video(track(64, 48, 30, 1))];
    let mut m = crate::open(crate::Output::file(path).unwrap(), kind, &tracks, &options).unwrap();
    m.write_video(0, &key(), true).unwrap();
    m.write_video(0, &key(), true).unwrap();
    assert!(path.exists(), "{kind:?}: not published");
    m
}

#[test]
fn published_file_removed_or_replaced_fails_at_the_next_fragment_and_at_finish() {
    for kind in [
        ContainerKind::Mp4,
        ContainerKind::Mkv,
        ContainerKind::AnnexB,
    ] {
        for replace in [false, true] {
            // At finish (the last fragment), and at the next fragment cut.
            for more in [false, true] {
                let dir = TempDir::new("vanished");
                let path = dir.path().join("clip.out");
                let mut m = published_muxer(&path, kind);
                std::fs::remove_file(&path).unwrap();
                if replace {
                    std::fs::write(&path, b"other").unwrap();
                }
                let e = if more {
                    m.write_video(0, &key(), true).unwrap_err()
                } else {
                    m.finish().unwrap_err()
                };
                let what = format!("{kind:?} replace={replace} more={more}: {e}");
                assert!(matches!(e, Error::Vanished { .. }), "{what}");
                let msg = e.to_string();
                assert!(msg.contains("clip.out"), "{what}");
                assert!(msg.contains("removed or replaced"), "{what}");
                assert!(
                    msg.contains("keep the output file and its directory"),
                    "{what}"
                );
                if replace {
                    assert!(msg.contains("another file now has its name"), "{what}");
                    assert_eq!(std::fs::read(&path).unwrap(), b"other", "{what}");
                } else {
                    assert!(msg.contains("no longer exists"), "{what}");
                    assert!(dir.entries().is_empty(), "{what}: {:?}", dir.entries());
                }
            }
        }
    }
}

#[test]
fn published_file_whose_directory_is_removed_fails() {
    let dir = TempDir::new("vanished-dir");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("clip.mp4");
    let m = published_muxer(&path, ContainerKind::Mp4);
    std::fs::remove_dir_all(&sub).unwrap();
    let e = m.finish().unwrap_err();
    assert!(matches!(e, Error::Vanished { .. }), "{e:?}");
    assert!(e.to_string().contains("no longer exists"), "{e}");
}

#[test]
fn published_file_renamed_by_the_user_fails_and_is_kept() {
    let dir = TempDir::new("vanished-renamed");
    let path = dir.path().join("clip.mp4");
    let m = published_muxer(&path, ContainerKind::Mp4);
    let moved = dir.path().join("moved.mp4");
    std::fs::rename(&path, &moved).unwrap();
    let e = m.finish().unwrap_err();
    assert!(matches!(e, Error::Vanished { .. }), "{e:?}");
    assert_eq!(dir.entries(), ["moved.mp4"]);
}

#[test]
fn published_file_left_in_place_finishes() {
    for kind in [
        ContainerKind::Mp4,
        ContainerKind::Mkv,
        ContainerKind::AnnexB,
    ] {
        let dir = TempDir::new("published-ok");
        let path = dir.path().join("clip.out");
        let mut m = published_muxer(&path, kind);
        m.write_video(0, &key(), true).unwrap();
        let n = m.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), n, "{kind:?}");
        assert_eq!(dir.entries(), ["clip.out"], "{kind:?}");
    }
}

#[test]
fn stale_pid_parses_only_the_temporary_file_tail() {
    assert_eq!(stale_pid("123-0"), Some(123));
    assert_eq!(stale_pid("4194304-17"), Some(4_194_304));
    for bad in [
        "",
        "123",
        "123-",
        "-0",
        "0-0",
        "12a-0",
        "123-0-1",
        "123-x",
        "99999999999-0",
    ] {
        assert_eq!(stale_pid(bad), None, "{bad:?}");
    }
}

/// The pid of a process that has ended (and been reaped).
#[cfg(target_os = "linux")]
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(target_os = "linux")]
#[test]
fn stale_temporary_files_of_dead_processes_are_removed() {
    let dir = TempDir::new("stale");
    let dead = dead_pid();
    let me = std::process::id();
    let stale = format!(".clip.mp4.partial-{dead}-0");
    let keep = [
        // This process's own (another writer of the same name may be running).
        format!(".clip.mp4.partial-{me}-9999"),
        // Another target's, a name that only looks similar, and the target.
        format!(".other.mp4.partial-{dead}-0"),
        format!(".clip.mp4.partial-{dead}-0.bak"),
        format!(".clip.mp4.partial-{dead}"),
        "clip.mp4".to_string(),
    ];
    for name in std::iter::once(&stale).chain(&keep) {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    // A directory with a stale name is never removed.
    std::fs::create_dir(dir.path().join(format!(".clip.mp4.partial-{dead}-1"))).unwrap();

    let mut m = create_file(
        &dir.path().join("clip.mp4"),
        ContainerKind::Mp4,
        &track(64, 48, 30, 1),
    )
    .unwrap();
    let entries = dir.entries();
    assert!(!entries.contains(&stale), "{entries:?}");
    for name in &keep {
        assert!(entries.contains(name), "{name} removed: {entries:?}");
    }
    assert!(entries.contains(&format!(".clip.mp4.partial-{dead}-1")));
    m.write_sample(&key(), true).unwrap();
    m.finish().unwrap();
}
