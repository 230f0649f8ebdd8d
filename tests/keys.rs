//! `mine`'s keys at a terminal: with stdin a pseudo-terminal, `p` pauses hashing, `r` resumes
//! it, `h` prints the status at once, and the terminal's mode is given back at the end.

mod common;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A new pseudo-terminal: (master, slave).
fn openpty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors, which are owned from here on.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are not owned elsewhere.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Whether the terminal is in canonical (line) mode.
fn canonical(fd: &OwnedFd) -> bool {
    // SAFETY: tcgetattr fills the zeroed termios.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd.as_raw_fd(), &mut t), 0);
        t.c_lflag & libc::ICANON != 0
    }
}

/// Waits (at most 30 s) until stderr contains `needle`.
fn wait_stderr(stderr: &Arc<Mutex<String>>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stderr.lock().unwrap().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on stderr: {}",
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keys_at_a_terminal_pause_resume_and_print_the_status() {
    let (mut master, slave) = openpty();
    assert!(canonical(&slave));
    let stdin = slave.try_clone().unwrap();
    // A status line only every hour: the one that comes is the one `h` asked for.
    let mut miner = common::hashforge().spawn_with_stdin(
        &common::mine_scalar(&["--json-status", "--status-interval", "3600"]),
        stdin,
    );
    let stderr = miner.stderr_text();
    let mut stdout = miner.stdout_lines();
    wait_stderr(&stderr, "keys: h status, p pause, r resume");
    assert!(
        !canonical(&slave),
        "keys need the terminal out of line mode"
    );

    master.write_all(b"p").unwrap();
    wait_stderr(&stderr, "paused: hashing stops");
    master.write_all(b"r").unwrap();
    wait_stderr(&stderr, "resumed: hashing again");

    while let Ok(line) = stdout.try_recv() {
        assert!(!line.starts_with('{'), "a status before h: {line}");
    }
    master.write_all(b"h").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match stdout.try_recv() {
            Ok(line) if line.starts_with('{') => break line,
            Ok(_) => {}
            Err(_) => {
                assert!(Instant::now() < deadline, "no status after h");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(status.get("total").is_some(), "{status}");

    miner.interrupt();
    let exit = miner.wait_within(Duration::from_secs(30));
    assert_eq!(exit.code, Some(0), "{exit:#?}");
    assert!(canonical(&slave), "the terminal's mode was not given back");
}
