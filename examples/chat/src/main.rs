//! The chat: an axum app serving one page, with socket.io beside it on the same port.
//!
//! `cargo run -p chat`, then open http://127.0.0.1:3000 in two tabs. `PORT` and `HOST` change
//! where it listens; `SOCKETIO_CLIENT_DIR` names a directory holding npm's
//! `socket.io-client/dist` to serve the browser client from, for machines without internet
//! (by default the one `e2e-js/` installs, when present; otherwise the page loads it from the
//! socket.io CDN). Add `?transport=polling` to the page's address to force long-polling.
//!
//! With `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`) several chat processes form one chat:
//! `PORT=3000 REDIS_URL=... cargo run -p chat` and `PORT=3001 REDIS_URL=... cargo run -p chat`,
//! then a tab on each port.

mod handlers;
mod page;
mod rooms;

use socketio::SocketIo;
use std::net::SocketAddr;
use std::path::PathBuf;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let rooms = rooms::Rooms::default();
    let mut builder = SocketIo::builder().with_state(rooms.clone());
    if let Some(dir) = client_dir() {
        builder = builder.serve_client(dir);
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        let adapter = socketio_redis::RedisAdapter::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
        println!("in the cluster on {url}");
    }
    let io = builder.build();
    io.on_connection(handlers::on_connection);
    handlers::on_cluster_events(&io, rooms);
    let app = page::routes().merge(io.router());

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(std::io::Error::other)?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    println!(
        "chat on http://{addr}/ (open it in two tabs; add ?transport=polling for long-polling)"
    );
    // Small realtime messages must not wait for Nagle's algorithm (Node's ws turns it off too).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        io.close();
    })
    .await
}

/// Ctrl-C, or SIGTERM as sent by a service manager or a container runtime.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Where the browser client's files are: `SOCKETIO_CLIENT_DIR`, else the copy `e2e-js/`
/// installs with npm when this is run from the source tree.
fn client_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SOCKETIO_CLIENT_DIR") {
        return Some(dir.into());
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../e2e-js/node_modules/socket.io-client/dist");
    installed
        .join("socket.io.min.js")
        .is_file()
        .then_some(installed)
}
