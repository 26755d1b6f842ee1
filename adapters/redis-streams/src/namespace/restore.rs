//! Restoring a session from Redis (Node's `restoreSession`): the session taken, its offset
//! checked, and the broadcasts after it read back from the stream.

use super::*;

impl StreamsNamespace {
    /// The session of `pid` and what it missed after `offset`, read from Redis.
    pub(super) async fn restore(
        &self,
        pid: String,
        offset: Option<String>,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        let Some(recovery) = self.recovery().cloned() else {
            return Ok(None);
        };
        let config = &self.shared.config;
        if offset
            .as_deref()
            .is_some_and(|o| session::parse_offset(o).is_none())
        {
            tracing::debug!(nsp = %self.name, "session not restored: malformed offset");
            return Ok(None);
        }
        if pid.is_empty() || pid.len() > session::MAX_PID_LEN {
            tracing::debug!(nsp = %self.name, "session not restored: malformed pid");
            return Ok(None);
        }
        let mut commands = self.shared.bus.commands();
        let key = format!("{}{pid}", config.session_key_prefix);
        // As Node's: the session is taken (GET and DEL at once).
        let mut taken = redis::pipe();
        taken
            .atomic()
            .cmd("GET")
            .arg(&key)
            .cmd("DEL")
            .arg(&key)
            .ignore();
        let timeout = config.command_timeout;
        let (stored,) = tokio::time::timeout(
            timeout,
            taken.query_async::<(Option<Vec<u8>>,)>(&mut commands),
        )
        .await
        .map_err(|_| AdapterError::Timeout)?
        .map_err(redis_error)?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let Some(session) = session::decode(&stored) else {
            tracing::debug!(nsp = %self.name, "session not restored: not a session");
            return Ok(None);
        };
        // A client that never received a kept broadcast sends no offset: the session's own
        // (where the stream was when it connected) stands for it. Node's sessions have none.
        let Some(position) = offset
            .as_deref()
            .or(session.offset.as_deref())
            .and_then(session::parse_offset)
        else {
            tracing::debug!(nsp = %self.name, "session not restored: no offset");
            return Ok(None);
        };
        let kept = match offset {
            // As Node's: the client's offset must still be in the stream.
            Some(offset) => {
                let mut exists = redis::cmd("XRANGE");
                exists
                    .arg(&self.stream)
                    .arg(&offset)
                    .arg(&offset)
                    .arg("COUNT")
                    .arg(1);
                let found = tokio::time::timeout(
                    timeout,
                    exists.query_async::<redis::Value>(&mut commands),
                )
                .await
                .map_err(|_| AdapterError::Timeout)?
                .map_err(redis_error)?;
                !stream::entries_of_range(&found).is_empty()
            }
            // The session's own offset need not be an entry (`0-0` for a stream that was
            // empty): nothing after it may have been trimmed.
            None => {
                let mut info = redis::cmd("XINFO");
                info.arg("STREAM").arg(&self.stream);
                let reply =
                    tokio::time::timeout(timeout, info.query_async::<redis::Value>(&mut commands))
                        .await
                        .map_err(|_| AdapterError::Timeout)?
                        .map_err(redis_error)?;
                stream::max_deleted_id(&reply)
                    .as_deref()
                    .and_then(session::parse_offset)
                    .is_some_and(|deleted| deleted <= position)
            }
        };
        if !kept {
            tracing::debug!(nsp = %self.name, "session not restored: offset no longer in the stream");
            return Ok(None);
        }
        let missed = self.read_after(position, &session.rooms, &recovery).await?;
        Ok(missed.map(|missed| RestoredSession { session, missed }))
    }

    /// The broadcasts of this namespace after `position` that reach a socket in `rooms`, each
    /// with its entry id last; `None` when there are more than a restore reads or recovery
    /// keeps (the client then starts afresh rather than get part of them).
    pub(super) async fn read_after(
        &self,
        position: (u64, u64),
        rooms: &[Room],
        recovery: &ConnectionStateRecovery,
    ) -> Result<Option<Vec<Arc<BroadcastPacket>>>, AdapterError> {
        let config = &self.shared.config;
        let timeout = config.command_timeout;
        let mut commands = self.shared.bus.commands();
        let mine: HashSet<&str> = rooms.iter().map(Room::as_str).collect();
        let mut missed = Vec::new();
        let (mut bytes, mut read) = (0usize, 0usize);
        let mut from = session::next_offset(position);
        while let Some(start) = from.take() {
            let mut range = redis::cmd("XRANGE");
            range
                .arg(&self.stream)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(config.read_count);
            let reply =
                tokio::time::timeout(timeout, range.query_async::<redis::Value>(&mut commands))
                    .await
                    .map_err(|_| AdapterError::Timeout)?
                    .map_err(redis_error)?;
            let entries = stream::entries_of_range(&reply);
            let full = entries.len() >= config.read_count;
            for (id, fields) in entries {
                read += 1;
                if let Some(packet) = self.missed_packet(&fields, &mine, &id) {
                    bytes += size_of(&packet);
                    missed.push(packet);
                }
                from = session::parse_offset(&id).and_then(session::next_offset);
            }
            if !full {
                break;
            }
            if read >= config.restore_max_entries
                || missed.len() > recovery.max_packets
                || bytes > recovery.max_bytes
            {
                tracing::debug!(nsp = %self.name, read, missed = missed.len(), bytes,
                    "session not restored: it missed more than a restore reads");
                return Ok(None);
            }
        }
        if missed.len() > recovery.max_packets || bytes > recovery.max_bytes {
            tracing::debug!(nsp = %self.name, missed = missed.len(), bytes,
                "session not restored: it missed more than recovery keeps");
            return Ok(None);
        }
        Ok(Some(missed))
    }

    /// A stream entry as a packet the session missed, its id last: a broadcast of this
    /// namespace, without acknowledgement, not volatile, that reached the session's rooms.
    fn missed_packet(
        &self,
        fields: &[(Vec<u8>, Vec<u8>)],
        rooms: &HashSet<&str>,
        id: &str,
    ) -> Option<Arc<BroadcastPacket>> {
        let message = wire::message_from_entry(fields).ok()?;
        if message.nsp != *self.name || message.kind != kind::BROADCAST {
            return None;
        }
        let body: wire::BroadcastData = match message.body() {
            Ok(body) => body,
            Err(error) => {
                tracing::debug!(%id, %error, "stream entry skipped in a restore");
                return None;
            }
        };
        let volatile = body
            .opts
            .flags
            .as_ref()
            .and_then(|f| f.volatile)
            .unwrap_or(false);
        if body.request_id.is_some() || volatile || body.packet.id.is_some() {
            return None;
        }
        if !session::should_include(rooms, &body.opts.rooms, &body.opts.except) {
            return None;
        }
        let packet = wire::packet_of(body.packet, &self.name)?;
        Some(with_offset(&packet, id))
    }
}

/// What a missed packet holds: its arguments' text and its attachments.
fn size_of(packet: &BroadcastPacket) -> usize {
    let args = match &packet.packet.data {
        PacketData::Event(event) => event.args.iter().map(|arg| arg.len()).sum(),
        _ => 0,
    };
    args + packet.attachments.iter().map(|a| a.len()).sum::<usize>()
}
