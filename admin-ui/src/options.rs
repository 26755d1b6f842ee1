//! `instrument`'s options, under Node's names and defaults.

use std::time::Duration;

/// How the admin namespace checks who connects (Node's `auth` option, which has no default:
/// turning authentication off must be said).
#[derive(Clone)]
pub enum Auth {
    /// Anyone who reaches the server may watch it and, unless read-only, act on it.
    None,
    /// A user name and a bcrypt hash of the password (`$2a$`, `$2b$` or `$2y$`), as Node's
    /// `{ type: "basic", username, password }`.
    Basic {
        /// The user name the UI must send.
        username: String,
        /// The bcrypt hash of the password, never the password itself.
        password_hash: String,
    },
}

/// Hides the hash.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// What the UI is told (Node's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every socket, room and event, as they happen (Node's default outside production).
    #[default]
    Development,
    /// Only the servers' aggregated figures, every stats interval: cheap enough for production.
    Production,
}

/// `instrument`'s options (Node's `InstrumentOptions`).
///
/// ```
/// use socketio_admin_ui::{Auth, InstrumentOptions, Mode};
///
/// let options = InstrumentOptions::new(Auth::Basic {
///     username: "admin".into(),
///     // bcrypt.hashSync("changeit", 10)
///     password_hash: "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS".into(),
/// })
/// .readonly(true)
/// .mode(Mode::Production)
/// .server_id("eu-1");
/// assert_eq!(options.namespace_name(), "/admin");
/// ```
#[derive(Debug, Clone)]
pub struct InstrumentOptions {
    pub(crate) namespace: String,
    pub(crate) auth: Auth,
    pub(crate) readonly: bool,
    pub(crate) server_id: Option<String>,
    pub(crate) mode: Mode,
    pub(crate) stats_interval: Duration,
}

impl InstrumentOptions {
    /// Node's defaults (`/admin`, not read-only, development mode, the host name as server id,
    /// stats every 2 s) with the authentication given, which Node requires too.
    #[must_use]
    pub fn new(auth: Auth) -> Self {
        Self {
            namespace: "/admin".to_owned(),
            auth,
            readonly: false,
            server_id: None,
            mode: Mode::Development,
            stats_interval: Duration::from_secs(2),
        }
    }

    /// The admin namespace (Node's `namespaceName`, `/admin`).
    #[must_use]
    pub fn namespace(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.namespace = if name.starts_with('/') {
            name
        } else {
            format!("/{name}")
        };
        self
    }

    /// The admin namespace's name.
    #[must_use]
    pub fn namespace_name(&self) -> &str {
        &self.namespace
    }

    /// When true, the UI may watch but not act: no emit, join, leave nor disconnect (Node's
    /// `readonly`, false).
    #[must_use]
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// This server's name in the UI (Node's `serverId`, the host name by default).
    #[must_use]
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// Development (every socket and event) or production (aggregated figures only).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How often each server sends its `server_stats` (2 s in Node, where it is fixed); at
    /// least 100 ms.
    #[must_use]
    pub fn stats_interval(mut self, every: Duration) -> Self {
        self.stats_interval = every.max(Duration::from_millis(100));
        self
    }
}
