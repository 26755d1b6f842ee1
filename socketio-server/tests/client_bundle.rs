//! `serve_client`: the browser bundle under the server's path, with revalidation, and nothing
//! else of its directory reachable.

mod common;
use common::*;

fn bundle_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sio-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("socket.io.min.js"), "window.io = 'bundle';").expect("write bundle");
    std::fs::write(dir.join("secret.txt"), "not for the web").expect("write other file");
    dir
}

#[tokio::test]
async fn the_bundle_is_served_and_revalidated() {
    let io = SocketIo::builder().serve_client(bundle_dir()).build();
    let addr = serve(&io).await;

    let (status, head, body) = http_get(addr, "/socket.io/socket.io.min.js", "").await;
    assert_eq!(status, 200);
    assert_eq!(body, "window.io = 'bundle';");
    assert!(
        head.contains("content-type: application/javascript"),
        "{head}"
    );
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag")
        .to_string();

    let (status, _, body) = http_get(
        addr,
        "/socket.io/socket.io.min.js",
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
}

#[tokio::test]
async fn only_the_client_files_are_reachable() {
    let io = SocketIo::builder().serve_client(bundle_dir()).build();
    let addr = serve(&io).await;

    // A client file the directory lacks, and a file of the directory that is not a client file.
    let (status, _, _) = http_get(addr, "/socket.io/socket.io.js", "").await;
    assert_eq!(status, 404);
    let (status, _, body) = http_get(addr, "/socket.io/secret.txt", "").await;
    assert_ne!(status, 200);
    assert!(!body.contains("not for the web"));
    let (status, _, body) = http_get(addr, "/socket.io/..%2Fsecret.txt", "").await;
    assert_ne!(status, 200);
    assert!(!body.contains("not for the web"));

    // The engine still answers beside the bundle.
    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("0{"), "{body}");
}

#[tokio::test]
async fn without_serve_client_there_is_no_bundle() {
    let io = new_io();
    let addr = serve(&io).await;
    let (status, _, _) = http_get(addr, "/socket.io/socket.io.min.js", "").await;
    assert_ne!(status, 200);
}
