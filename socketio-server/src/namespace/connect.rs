//! A socket's way into a namespace: its session restored when it comes back, the middlewares,
//! then the CONNECT reply and the connection handlers, or CONNECT_ERROR.

use super::*;

impl Namespace {
    /// Admits a socket after the middlewares, or answers CONNECT_ERROR.
    pub(crate) async fn connect(self, conn: Arc<EngineSocket>, auth: serde_json::Value) {
        // Taken before anything could reach the socket: a client that comes back with no
        // offset of its own missed everything after it.
        let offset = self.adapter().last_offset();
        // A v3 client cannot recover: its CONNECT reply has no room for a pid.
        let legacy = conn.protocol() == engineio::Protocol::V3;
        let restored = match legacy {
            true => None,
            false => self.restore(&auth).await,
        };
        let (session, missed, from) = match restored {
            Some((restored, from)) => (Some(restored.session), restored.missed, from),
            None => (None, Vec::new(), None),
        };
        let rooms = session.as_ref().map(|session| session.rooms.clone());
        let handshake = Handshake::new(conn.clone(), auth);
        let socket = Socket::new(self.clone(), conn.clone(), handshake, session, offset);
        if socket.recovered() {
            // Until it has been sent what it missed: see `hold`.
            socket.hold();
        }
        let parts = ConnectParts {
            socket: socket.clone(),
        };
        let skip_middlewares = socket.recovered()
            && self
                .recovery()
                .is_some_and(|recovery| recovery.skip_middlewares);
        let middlewares = match skip_middlewares {
            true => Vec::new(),
            false => read(&self.0.middlewares).clone(),
        };
        for middleware in middlewares {
            let verdict = match middleware.call(&parts) {
                Ok(future) => future.await,
                Err(refused) => Err(ConnectError::new(refused.to_string())),
            };
            if let Err(error) = verdict {
                refuse(&conn, self.name(), error, legacy);
                return;
            }
        }
        if conn.is_closed() {
            return;
        }
        write(&self.0.sockets).insert(socket.id().clone(), socket.clone());
        self.adapter()
            .add_all(socket.id(), std::slice::from_ref(socket.id().as_room()));
        if let Some(rooms) = &rooms {
            self.adapter().add_all(socket.id(), rooms);
        }
        conn.data().add_socket(self.name().clone(), socket.clone());
        if conn.is_closed() {
            // The connection closed while the socket was being admitted: its close handler may
            // have run before the socket was there to see it.
            let reason = conn
                .close_reason()
                .map_or(DisconnectReason::TransportClose, Into::into);
            socket.close(reason);
            return;
        }
        socket.admit();
        // What a recovered socket missed goes before the CONNECT reply, as Node sends it: the
        // client holds events that come before it is connected and plays them right after.
        let replayed = match &rooms {
            Some(rooms) => {
                Some(crate::hold::replay(self.adapter(), &conn, missed, from, rooms).await)
            }
            None => None,
        };
        // With recovery on, the private session id the client sends back when it returns. A v3
        // client's reply is bare: it makes the socket's id itself (see `Socket::new`).
        let reply = match socket.pid() {
            _ if legacy => None,
            Some(pid) => {
                Some(serde_json::json!({ "sid": socket.id().as_str(), "pid": pid.as_str() }))
            }
            None => Some(serde_json::json!({ "sid": socket.id().as_str() })),
        };
        let reply = reply.map(|reply| reply.to_string().into());
        let packet = Packet::connect(self.name().clone(), reply);
        let _ = conn.send_frames(conn.data().parser().frames(&packet, &[]));
        if let Some(replayed) = replayed {
            socket.release_held(&replayed);
        }
        let span = crate::spans::connect(&socket);
        for handler in read(&self.0.handlers).clone() {
            match handler.call(&parts) {
                Ok(future) => run_inline(tracing::Instrument::instrument(future, span.clone())),
                Err(refused) => {
                    // The socket cannot be served as the application asked: it is sent away
                    // rather than left connected with no handler.
                    tracing::warn!(nsp = %self.name(), %refused, "connection handler's extractor refused");
                    socket.disconnect(false);
                    return;
                }
            }
        }
    }

    /// The session a returning client asks for with `auth.pid` and `auth.offset`, when recovery
    /// is on and the adapter still has it, with the offset the client was at (its own, or the
    /// session's when it sent none); anything else (no recovery, no or malformed pid or offset,
    /// an adapter error) is a fresh session.
    async fn restore(
        &self,
        auth: &serde_json::Value,
    ) -> Option<(crate::adapter::RestoredSession, Option<String>)> {
        let recovery = self.recovery().is_some();
        let pid = auth.get("pid").and_then(serde_json::Value::as_str);
        // A client that never received a kept broadcast sends its pid alone.
        let offset = match auth.get("offset") {
            None => None,
            Some(offset) => Some(offset.as_str()?),
        };
        let (true, Some(pid)) = (recovery, pid) else {
            return None;
        };
        // The client is back while its old socket still looks connected here: it went offline
        // without a goodbye (the page's `offline` event closes the client's side only) and the
        // heartbeat has not noticed yet. The new connection proves the old one dead: close it
        // now, keeping its session, so that this one recovers it rather than start afresh.
        let stale = read(&self.0.sockets)
            .values()
            .find(|socket| socket.pid().is_some_and(|own| own.as_str() == pid))
            .cloned();
        if let Some(stale) = stale {
            stale.close(DisconnectReason::TransportClose);
        }
        match self.adapter().restore_session(pid, offset).await {
            Ok(Some(restored)) => {
                self.0.expiry.restored(pid);
                let from = offset
                    .map(str::to_owned)
                    .or_else(|| restored.session.offset.clone());
                Some((restored, from))
            }
            Ok(None) => None,
            Err(error) => {
                tracing::debug!(nsp = %self.name(), %error, "session not restored");
                None
            }
        }
    }
}

/// Answers a CONNECT with CONNECT_ERROR: `message` first, as Node writes it, then `data`; to a
/// v3 client, as Node, the error's data when it has some, else its message, alone.
fn refuse(conn: &EngineSocket, namespace: &Str, error: ConnectError, legacy: bool) {
    #[derive(serde::Serialize)]
    struct Refusal {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<serde_json::Value>,
    }
    let body = match (legacy, error.data) {
        (true, Some(data)) => data.to_string(),
        (true, None) => serde_json::Value::from(error.message).to_string(),
        (false, data) => serde_json::to_string(&Refusal {
            message: error.message,
            data,
        })
        .unwrap_or_default(),
    };
    let packet = Packet::connect_error(namespace.clone(), body.into());
    let _ = conn.send_frames(conn.data().parser().frames(&packet, &[]));
}
