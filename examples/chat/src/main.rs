//! The chat: an axum app serving one page, with socket.io beside it on the same port.
//!
//! `cargo run -p chat`, then open http://127.0.0.1:3000 in two tabs. `PORT` and `HOST` change
//! where it listens. Add `?transport=polling` to the page's address to force long-polling.
//!
//! The page loads the official browser client from this server (`/socket.io/socket.io.min.js`),
//! so the chat needs no internet beyond the npm registry, and that only once. The server takes
//! npm's `socket.io-client/dist` (4.8.4) from, in this order: `SOCKETIO_CLIENT_DIR`; the copy
//! `e2e-js/` installs (`npm ci`); its cache, `~/.cache/socketio-rs/socket.io-client-4.8.4`
//! (`$XDG_CACHE_HOME/socketio-rs/...` when set). With none of them, it fetches the package into
//! that cache with `npm pack` before it starts serving (a line says so; at most 30 s). If npm is
//! missing or fails, a line on stderr says why, the chat starts anyway and the page falls back to
//! the socket.io CDN. `SOCKETIO_CLIENT_CACHE=<dir>` uses `<dir>` as the cache instead and skips
//! the e2e-js copy: `e2e-js/test/chat-offline.test.mjs` starts the chat so, with an empty cache.
//! See `client_files.rs`.
//!
//! With `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`) several chat processes form one chat:
//! `PORT=3000 REDIS_URL=... cargo run -p chat` and `PORT=3001 REDIS_URL=... cargo run -p chat`,
//! then a tab on each port.
//!
//! On one server, connection state recovery is on (2 minutes, Node's default): a page whose
//! network drops for a while comes back with the same socket, in its rooms, and gets every
//! message it missed, and the others keep seeing its user as present meanwhile; only a page
//! that stays away longer is shown as gone. Node's Redis pub/sub adapter, and ours, cannot
//! recover sessions, so with `REDIS_URL` a returning page logs in and rejoins instead.
//!
//! Prometheus metrics are at `/metrics` (their names are in the README).
//!
//! With `ADMIN_PASSWORD` set, the official socket.io Admin UI watches and drives the chat
//! (user `admin`): at `/admin/` when npm's `@socket.io/admin-ui` is installed (see `admin.rs`),
//! or from the hosted UI at <https://admin.socket.io> pointed at the chat's address.

mod admin;
mod client_files;
mod handlers;
mod page;
mod rooms;

use socketio::{ConnectionStateRecovery, SocketIo, SocketIoConfig};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(std::io::Error::other)?,
        Err(_) => 3000,
    };
    // Bound first: a busy port is said at once, not after fetching the client, and a page
    // opened while the client is fetched waits in the backlog instead of being refused.
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;

    let rooms = rooms::Rooms::default();
    let mut builder = SocketIo::builder().with_state(rooms.clone()).metrics();
    let cluster = std::env::var("REDIS_URL").ok();
    if cluster.is_none() {
        let config = SocketIoConfig::builder()
            .connection_state_recovery(ConnectionStateRecovery::default())
            .build();
        builder = builder.config(config);
    }
    if let Some(cors) = admin::hosted_ui_cors() {
        builder = builder.cors(cors);
    }
    if let Some(dir) = client_files::find_or_fetch().await {
        builder = builder.serve_client(dir);
    }
    if let Some(url) = cluster {
        let adapter = socketio_redis::RedisAdapter::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        builder = builder.adapter(adapter);
        println!("in the cluster on {url}");
    }
    let io = builder.build();
    // Before the handlers, so that the UI hears what they send on connection.
    let admin = admin::enable(&io)?;
    let recovery = io.config().connection_state_recovery.is_some();
    io.on_connection(move |socket: socketio::Socket| handlers::on_connection(socket, recovery));
    let namespace = io.of("/");
    io.on_session_expired(move |session| handlers::on_session_expired(namespace.clone(), session));
    handlers::on_cluster_events(&io, rooms);
    let app = page::routes()
        .route("/metrics", io.metrics_route())
        .merge(io.router());
    let admin_ui = admin.then(admin::ui_dir).flatten();
    let app = match &admin_ui {
        Some(dir) => app.merge(admin::routes(dir.clone())),
        None => app,
    };

    // Caught from here on, before the address is printed: whoever stops the chat as soon as it
    // says where it listens (a test, a script) gets the graceful shutdown, not the default kill.
    let shutdown = shutdown_signal();
    // Before the line that says the chat listens, which whoever started it waits for.
    match (admin, admin_ui) {
        (true, Some(_)) => println!("admin UI on http://{addr}/admin/ (user admin)"),
        (true, None) => println!(
            "admin UI: open https://admin.socket.io and connect to http://{addr} (user admin)"
        ),
        (false, _) => {}
    }
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
        shutdown.await;
        io.close();
    })
    .await
}

/// Ctrl-C, or SIGTERM as sent by a service manager or a container runtime. The handlers are
/// installed by this call, not when the future is first polled (as `tokio::signal::ctrl_c` would).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                one.recv().await;
            }
            // No handler: the signals keep their default, which ends the process.
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
}
