//! The official browser client (npm's `socket.io-client/dist`) that the server hands the page,
//! found or fetched so that `cargo run -p chat` alone gives a working chat on a machine that
//! reaches the npm registry but not the socket.io CDN.
//!
//! Where it comes from, the first that has it wins:
//! 1. `SOCKETIO_CLIENT_DIR`, a directory the user names;
//! 2. the copy `e2e-js/` installs (`cd e2e-js && npm ci`), when run from the source tree;
//! 3. the cache: `socket.io-client-4.8.4/` in `$SOCKETIO_CLIENT_CACHE`, else in
//!    `$XDG_CACHE_HOME/socketio-rs`, else in `~/.cache/socketio-rs`. Setting
//!    `SOCKETIO_CLIENT_CACHE` also skips step 2, so that a test (or a packager) can start from a
//!    known, empty cache in a checkout that has the e2e-js copy;
//! 4. npm, once: `npm pack socket.io-client@4.8.4`, unpacked into that cache;
//! 5. nothing: the page then tries the socket.io CDN, the last resort.
//!
//! Why the user's cache rather than `target/`: it works for a binary run from anywhere (the e2e-js
//! lookup only works beside the source tree it was built from), it survives `cargo clean`, and
//! every clone shares one copy. The directory's name carries the version, so a new pin fetches
//! anew and never serves an old bundle.
//!
//! Why `npm pack` and `tar` rather than `npm install`: one tarball and no dependency resolution
//! (the `dist/` bundles are self-contained), no `package.json` to write; npm still checks the
//! tarball's integrity and honours the user's configuration (registry mirror, proxy), and with
//! `--prefer-offline` a tarball already in npm's own cache needs no network at all.
//!
//! Why before serving, with a bound: the chat calls this after binding its port and before
//! printing its address, so the first page anyone opens already gets the client from this server
//! (a page opened during the fetch waits in the listen backlog rather than being refused or
//! falling back to a CDN it cannot reach). A fetch takes a second or two, and only on the first
//! run; npm is killed after [`FETCH_TIMEOUT`] (offline, its own retries would take over a minute),
//! so the chat always starts.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The client's version: the one `e2e-js/package.json` pins (a test below keeps them equal).
pub const VERSION: &str = "4.8.4";

/// How long npm and tar may take together before the chat gives up and starts without them.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The file the page loads; a directory without it is not a client copy.
const BUNDLE: &str = "socket.io.min.js";

/// The directory to serve the client from, fetching it with npm if no copy is found; `None`
/// (after one line on stderr saying why) leaves the page to the CDN.
pub async fn find_or_fetch() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SOCKETIO_CLIENT_DIR") {
        return Some(dir.into());
    }
    let named_cache = std::env::var_os("SOCKETIO_CLIENT_CACHE").map(PathBuf::from);
    if named_cache.is_none() {
        let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../e2e-js/node_modules/socket.io-client/dist");
        if has_bundle(&installed) {
            return Some(installed);
        }
    }
    let dir = named_cache
        .unwrap_or_else(default_cache)
        .join(format!("socket.io-client-{VERSION}"));
    if has_bundle(&dir) {
        return Some(dir);
    }
    println!(
        "fetching socket.io-client {VERSION} with npm into {} (once; later runs find it there)",
        dir.display()
    );
    match fetch(&["npm"], &dir, FETCH_TIMEOUT).await {
        Ok(()) => Some(dir),
        Err(why) => {
            eprintln!(
                "could not fetch socket.io-client {VERSION} with npm ({why}); the page will try the socket.io CDN"
            );
            None
        }
    }
}

/// `$XDG_CACHE_HOME/socketio-rs`, else `~/.cache/socketio-rs`, else the temporary directory
/// (a user without a home still gets a working chat, fetched again after a reboot).
fn default_cache() -> PathBuf {
    let non_empty = |name| std::env::var_os(name).filter(|v: &std::ffi::OsString| !v.is_empty());
    let base = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("socketio-rs")
}

fn has_bundle(dir: &Path) -> bool {
    dir.join(BUNDLE).is_file()
}

/// Fetches the package with `npm` (the command and its first arguments, so that tests can stand
/// a script in) into a staging directory of this process beside `dir`, then moves its `dist/`
/// to `dir` in one rename: a fetch cut short (timeout, Ctrl-C) never leaves a half copy that a
/// later run would serve, and of two chats starting together (the Redis example) each fetches
/// on its own and the second rename finds the first one's copy.
async fn fetch(npm: &[&str], dir: &Path, timeout: Duration) -> Result<(), String> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(format!(
            "{} is not a directory to fetch into",
            dir.display()
        ));
    };
    let staging = parent.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = tokio::fs::remove_dir_all(&staging).await;
    tokio::fs::create_dir_all(&staging)
        .await
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    // Dropping the commands' futures on timeout kills npm or tar (`kill_on_drop`).
    let fetched = match tokio::time::timeout(timeout, download(npm, &staging)).await {
        Ok(fetched) => fetched,
        Err(_) => Err(format!("npm and tar did not finish within {timeout:?}")),
    };
    let moved = match fetched {
        Ok(dist) => match tokio::fs::rename(&dist, dir).await {
            Ok(()) => Ok(()),
            Err(_) if has_bundle(dir) => Ok(()), // another chat process got there first
            Err(e) => Err(format!("cannot move the client to {}: {e}", dir.display())),
        },
        Err(why) => Err(why),
    };
    let _ = tokio::fs::remove_dir_all(&staging).await;
    moved
}

/// `npm pack` (the tarball lands in the working directory) then `tar`; the unpacked `dist/`.
async fn download(npm: &[&str], staging: &Path) -> Result<PathBuf, String> {
    let [program, first_args @ ..] = npm else {
        return Err("no npm command".into());
    };
    run(
        Command::new(program)
            .args(first_args)
            .arg("pack")
            .arg(format!("socket.io-client@{VERSION}"))
            .args([
                "--prefer-offline",
                "--ignore-scripts",
                // Fail within seconds when the registry is unreachable, not after npm's minute
                // of retries; one retry still covers a dropped connection.
                "--fetch-retries=1",
                "--fetch-retry-mintimeout=2000",
                "--fetch-retry-maxtimeout=5000",
                "--loglevel=error",
            ])
            .current_dir(staging),
        "npm",
    )
    .await?;
    let tarball = tarball_in(staging).await?;
    // The name relative to the working directory: GNU tar reads `host:path` as a remote file,
    // and the staging directory's absolute path could hold a colon.
    run(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .current_dir(staging),
        "tar",
    )
    .await?;
    let dist = staging.join("package").join("dist");
    if has_bundle(&dist) {
        Ok(dist)
    } else {
        Err(format!("the package has no dist/{BUNDLE}"))
    }
}

/// The one `.tgz` that `npm pack` wrote into the (otherwise empty) staging directory.
async fn tarball_in(staging: &Path) -> Result<PathBuf, String> {
    let mut entries = tokio::fs::read_dir(staging)
        .await
        .map_err(|e| format!("cannot read {}: {e}", staging.display()))?;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = PathBuf::from(entry.file_name());
        if name.extension().is_some_and(|e| e == "tgz") {
            return Ok(name);
        }
    }
    Err("npm pack wrote no tarball".into())
}

async fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => format!("{what} is not installed"),
            _ => format!("cannot run {what}: {e}"),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}",
            why_it_failed(&String::from_utf8_lossy(&output.stderr))
        ))
    }
}

/// One line of a failed command's stderr: npm's line with the network error's reason when
/// there is one (its first lines are only `code ...`), else the first line.
fn why_it_failed(stderr: &str) -> String {
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next();
    let line = lines
        .find(|l| l.contains("reason:"))
        .or(first)
        .unwrap_or("no message");
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the temporary one, for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("chat-client-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        dir
    }

    /// npm played by a shell script (`sh -c`; npm's arguments become its unused `$1`, ...),
    /// which needs no executable file written by a test while others fork.
    fn fake_npm(script: &str) -> [&str; 4] {
        ["sh", "-c", script, "npm"]
    }

    #[test]
    fn the_pin_is_the_one_e2e_js_installs() {
        let manifest = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../e2e-js/package.json"
        ))
        .expect("read e2e-js/package.json");
        let manifest: serde_json::Value =
            serde_json::from_str(&manifest).expect("parse e2e-js/package.json");
        assert_eq!(manifest["dependencies"]["socket.io-client"], VERSION);
    }

    #[tokio::test]
    async fn a_packed_tarball_becomes_the_served_directory() {
        let scratch = scratch("packed");
        // What `npm pack` does: `package/dist/...` as a .tgz in the working directory.
        let npm = fake_npm(
            "mkdir -p package/dist && echo bundle > package/dist/socket.io.min.js \
             && tar -czf socket.io-client-4.8.4.tgz package && rm -r package",
        );
        let dir = scratch.join("cache").join("socket.io-client-4.8.4");
        fetch(&npm, &dir, Duration::from_secs(20))
            .await
            .expect("fetch");
        assert!(has_bundle(&dir));
        let left: Vec<_> = std::fs::read_dir(scratch.join("cache"))
            .expect("read the cache")
            .map(|e| e.expect("an entry").file_name())
            .collect();
        assert_eq!(left, ["socket.io-client-4.8.4"], "no staging left behind");
        let _ = std::fs::remove_dir_all(&scratch);
    }

    #[tokio::test]
    async fn a_missing_npm_is_said_in_words() {
        let scratch = scratch("missing");
        let dir = scratch.join("socket.io-client-4.8.4");
        let why = fetch(&["/nonexistent/npm"], &dir, Duration::from_secs(5))
            .await
            .expect_err("no npm");
        assert_eq!(why, "npm is not installed");
        assert!(!dir.exists());
        let _ = std::fs::remove_dir_all(&scratch);
    }

    #[tokio::test]
    async fn a_failing_npm_gives_its_reason() {
        let scratch = scratch("failing");
        let npm = fake_npm(
            "echo 'npm error code ENOTFOUND' >&2; \
             echo 'npm error network request failed, reason: getaddrinfo ENOTFOUND' >&2; exit 1",
        );
        let dir = scratch.join("socket.io-client-4.8.4");
        let why = fetch(&npm, &dir, Duration::from_secs(5))
            .await
            .expect_err("npm fails");
        assert_eq!(
            why,
            "npm failed: npm error network request failed, reason: getaddrinfo ENOTFOUND"
        );
        assert!(!dir.exists());
        let _ = std::fs::remove_dir_all(&scratch);
    }

    #[tokio::test]
    async fn a_hanging_npm_is_killed_at_the_timeout() {
        let scratch = scratch("hanging");
        let npm = fake_npm("exec sleep 30");
        let dir = scratch.join("socket.io-client-4.8.4");
        let started = std::time::Instant::now();
        let why = fetch(&npm, &dir, Duration::from_millis(300))
            .await
            .expect_err("npm hangs");
        assert!(why.contains("did not finish"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!dir.exists());
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
