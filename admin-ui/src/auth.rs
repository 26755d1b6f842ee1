//! Basic authentication of the admin namespace: a bcrypt check, then a session id the UI
//! keeps and sends instead of the password when it reconnects (Node's
//! `initAuthenticationMiddleware` with its `InMemoryStore`).

use crate::InstrumentError;
use rand::Rng;
use serde_json::Value;
use socketio::{ConnectError, Data, Namespace, Socket};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// Sessions kept at most; past it the oldest is forgotten and its UI logs in again.
const MAX_SESSIONS: usize = 1024;
/// Longer user names or passwords are refused before bcrypt sees them.
const MAX_FIELD: usize = 1024;
/// bcrypt checks running at once: a flood of logins waits its turn instead of taking every
/// core (and the blocking pool's threads).
const CONCURRENT_CHECKS: usize = 2;

/// The session ids given out, oldest first.
#[derive(Debug, Default)]
struct Sessions {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Basic {
    username: Arc<str>,
    hash: Arc<str>,
    sessions: Arc<Mutex<Sessions>>,
    checks: Arc<tokio::sync::Semaphore>,
}

impl Basic {
    /// Checks now that the hash is one bcrypt can use, as Node's `getRounds` does, so that a
    /// wrong option fails at start-up rather than at each login.
    pub(crate) fn new(username: String, hash: String) -> Result<Self, InstrumentError> {
        hash.parse::<bcrypt::HashParts>()
            .map_err(|_| InstrumentError::InvalidPasswordHash)?;
        Ok(Self {
            username: username.into(),
            hash: hash.into(),
            sessions: Arc::default(),
            checks: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CHECKS)),
        })
    }

    fn has_session(&self, id: &str) -> bool {
        self.lock().ids.contains(id)
    }

    fn new_session(&self) -> String {
        let id: String = {
            let mut rng = rand::rng();
            (0..8)
                .map(|_| format!("{:02x}", rng.random::<u8>()))
                .collect()
        };
        let mut sessions = self.lock();
        if sessions.order.len() >= MAX_SESSIONS {
            if let Some(old) = sessions.order.pop_front() {
                sessions.ids.remove(&old);
            }
        }
        sessions.ids.insert(id.clone());
        sessions.order.push_back(id.clone());
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `auth` carries a known session, or the right user name and password.
    async fn admits(&self, auth: &Value) -> bool {
        if let Some(id) = auth.get("sessionId").and_then(Value::as_str) {
            if self.has_session(id) {
                return true;
            }
        }
        let (Some(user), Some(password)) = (
            auth.get("username").and_then(Value::as_str),
            auth.get("password").and_then(Value::as_str),
        ) else {
            return false;
        };
        if user != &*self.username || password.len() > MAX_FIELD {
            return false;
        }
        // bcrypt takes tens of milliseconds of CPU by design: off the async workers, a few at
        // a time.
        let Ok(_permit) = self.checks.acquire().await else {
            return false;
        };
        let (password, hash) = (password.to_owned(), self.hash.clone());
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
    }

    /// Refuses whoever `admits` refuses with Node's "invalid credentials", and gives a new
    /// session id (event `session`) to whoever came with a password.
    pub(crate) fn install(&self, admin: &Namespace) {
        let basic = self.clone();
        admin.use_middleware(move |Data(auth): Data<Value>| {
            let basic = basic.clone();
            async move {
                if basic.admits(&auth).await {
                    Ok(())
                } else {
                    Err(ConnectError::new("invalid credentials"))
                }
            }
        });
        let basic = self.clone();
        admin.on_connection(move |socket: Socket| {
            let basic = basic.clone();
            async move {
                let by_session = socket
                    .handshake()
                    .auth
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| basic.has_session(id));
                if !by_session {
                    let _ = socket.emit("session", &basic.new_session());
                }
            }
        });
    }
}
