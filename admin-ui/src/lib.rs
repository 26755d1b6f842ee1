//! The server side of the official socket.io Admin UI, wire-compatible with Node's
//! `@socket.io/admin-ui` 0.5: call [`instrument`] on a [`SocketIo`], then open the UI (the
//! hosted one at <https://admin.socket.io>, or its files from npm's `@socket.io/admin-ui`
//! package, `ui/dist`, served by your app) and point it at the server.
//!
//! ```no_run
//! use socketio::SocketIo;
//! use socketio_admin_ui::{instrument, Auth, InstrumentOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::new();
//! instrument(
//!     &io,
//!     InstrumentOptions::new(Auth::Basic {
//!         username: "admin".into(),
//!         // From `bcrypt::hash("the password", 10)`, or Node's bcryptjs.
//!         password_hash: std::env::var("ADMIN_PASSWORD_HASH")?,
//!     }),
//! )?;
//! let app: axum::Router = axum::Router::new().merge(io.router());
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! What the UI gets is what Node's sends: `config` (the features offered), `server_stats`
//! from every server every interval with the aggregated counts of connections,
//! disconnections, packets and bytes, and in development mode `all_sockets` on login, then
//! `socket_connected`, `socket_updated` (an upgrade), `socket_disconnected`, `room_joined`,
//! `room_left`, `event_received` and `event_sent`. The operator's `emit`, `join`, `leave` and
//! `_disconnect` act on a namespace or a room of it, unless read-only.
//!
//! In a cluster every event is broadcast through the adapter to the admin namespace, as
//! Node's are, so a UI logged in to any server sees every server's stats and sockets, Node's
//! servers included (call `instrument` on each server, with a `server_id` each).
//!
//! Differences from Node: the aggregated messages and bytes are filed under the second of the
//! stats that carry them rather than the second each happened in (the UI's charts sum them
//! alike), and in development mode a namespace made after `instrument` is watched from the
//! next stats tick on.

mod actions;
mod auth;
mod engine;
mod options;
mod serialize;
mod stats;
mod time;
mod watch;

pub use options::{Auth, InstrumentOptions, Mode};

use serde_json::json;
use socketio::{Namespace, Socket, SocketIo};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// Why [`instrument`] refused its options.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstrumentError {
    /// The basic authentication's hash is not a bcrypt hash (Node: "the `password` field
    /// must be a valid bcrypt hash").
    #[error("the password must be a valid bcrypt hash")]
    InvalidPasswordHash,
}

/// Turns the admin UI's namespace on for `io` (Node's `instrument(io, options)`). Call it
/// from within the tokio runtime, before the server takes connections, so that every socket
/// is seen.
///
/// # Errors
///
/// [`InstrumentError::InvalidPasswordHash`] when [`Auth::Basic`] holds no bcrypt hash.
pub fn instrument(io: &SocketIo, options: InstrumentOptions) -> Result<(), InstrumentError> {
    let admin = io.of(&options.namespace);
    if let Auth::Basic {
        username,
        password_hash,
    } = &options.auth
    {
        auth::Basic::new(username.clone(), password_hash.clone())?.install(&admin);
    }
    let dev = options.mode == Mode::Development;
    let features = actions::features(options.readonly, dev);
    let readonly = options.readonly;
    let on = io.clone();
    admin.on_connection(move |socket: Socket| {
        let io = on.clone();
        if !readonly {
            actions::register(&io, &socket);
        }
        let _ = socket.emit("config", &json!({ "supportedFeatures": features }));
        async move {
            if dev {
                let sockets = all_sockets(&io).await;
                let _ = socket.emit("all_sockets", &sockets);
            }
        }
    });

    let events = Arc::new(stats::EventBuffer::default());
    let engine = Arc::new(engine::EngineCounts::new(
        events.clone(),
        dev.then(|| admin.clone()),
    ));
    io.observe_engine(engine.clone());
    let watched = Arc::new(Mutex::new(HashSet::new()));
    let watch_new = {
        let (io, admin, watched) = (io.clone(), admin.clone(), watched);
        move || {
            if !dev {
                return;
            }
            let mut watched = watched.lock().unwrap_or_else(PoisonError::into_inner);
            let now = io.namespaces();
            // A dynamic child removed since is forgotten, so that the set stays as small as
            // the server's namespaces and a child made again under that name is watched anew.
            watched.retain(|name: &String| now.iter().any(|ns| ns.name().as_str() == name));
            for ns in now {
                if watched.insert(ns.name().to_string()) {
                    watch::namespace(&ns, &admin);
                }
            }
        }
    };
    watch_new();
    stats::spawn_emitter(
        io.clone(),
        admin,
        stats::Identity::new(options.server_id),
        (events, engine),
        options.stats_interval,
        watch_new,
    );
    Ok(())
}

/// A bcrypt hash of `password` at `cost` (4 to 31; Node's bcryptjs and the `bcrypt` crate
/// default to 10 and 12), for [`Auth::Basic`] when the password comes from the environment.
///
/// ```
/// let hash = socketio_admin_ui::hash_password("changeit", 4).unwrap();
/// assert!(hash.starts_with("$2b$04$"));
/// ```
///
/// # Errors
///
/// When the cost is out of range.
pub fn hash_password(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(password, cost)
}

/// Every socket of every namespace, on every server of the cluster (Node's
/// `fetchAllSockets`); a namespace whose servers do not all answer is left out.
async fn all_sockets(io: &SocketIo) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for ns in io.namespaces() {
        all.extend(namespace_sockets(&ns).await);
    }
    all
}

async fn namespace_sockets(ns: &Namespace) -> Vec<serde_json::Value> {
    let Ok(sockets) = ns.broadcast().fetch_sockets().await else {
        return Vec::new();
    };
    let nsp = ns.name().to_string();
    sockets
        .iter()
        .map(|remote| {
            let local = ns
                .get_socket(remote.id.as_str())
                .map(|s| serialize::Local::of(&s));
            serialize::remote(remote, &nsp, local.as_ref())
        })
        .collect()
}
