//! The chat's memory: which rooms exist and the last messages of each. Everything a client sends
//! is checked here, so that the handlers only route.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many messages a room keeps for those who join later.
pub const HISTORY: usize = 50;
/// The longest message, in characters; the page checks it too, before sending.
pub const MAX_TEXT: usize = 2000;
pub const MAX_NAME: usize = 24;
pub const MAX_ROOM_NAME: usize = 32;
/// Rooms are created by users, so their number is bounded like any other remote input.
pub const MAX_ROOMS: usize = 100;
pub const DEFAULT_ROOMS: [&str; 3] = ["general", "random", "rust"];

/// A message as every client sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    /// Unique across restarts and across the servers of a cluster, so a client that reconnects
    /// can merge the history it receives with what it already shows.
    pub id: String,
    pub room: String,
    pub from: String,
    pub text: String,
    /// Milliseconds since the Unix epoch; each page shows it in its own time zone.
    pub time: u64,
}

/// The rooms and their histories, shared by every socket.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Mutex<BTreeMap<String, VecDeque<Message>>>>,
    boot: u64,
    next_id: Arc<AtomicU64>,
}

impl Default for Rooms {
    fn default() -> Self {
        let rooms = DEFAULT_ROOMS
            .iter()
            .map(|name| (name.to_string(), VecDeque::new()))
            .collect();
        Self {
            inner: Arc::new(Mutex::new(rooms)),
            boot: now(),
            next_id: Arc::default(),
        }
    }
}

impl Rooms {
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn exists(&self, room: &str) -> bool {
        self.lock().contains_key(room)
    }

    /// Creates `room` unless it exists; an error says why the name is refused.
    pub fn create(&self, room: &str) -> Result<(), String> {
        check_room_name(room)?;
        let mut rooms = self.lock();
        if !rooms.contains_key(room) {
            if rooms.len() >= MAX_ROOMS {
                return Err(format!(
                    "There are already {MAX_ROOMS} rooms; join one of them."
                ));
            }
            rooms.insert(room.to_string(), VecDeque::new());
        }
        Ok(())
    }

    pub fn history(&self, room: &str) -> Vec<Message> {
        self.lock()
            .get(room)
            .map(|history| history.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records a message from `from` in `room` and returns it as clients will see it.
    pub fn post(&self, room: &str, from: &str, text: &str) -> Result<Message, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("An empty message is not sent.".into());
        }
        let length = text.chars().count();
        if length > MAX_TEXT {
            return Err(format!(
                "That message has {length} characters; the limit is {MAX_TEXT}."
            ));
        }
        let message = Message {
            id: format!(
                "{:x}.{:x}-{}",
                self.boot,
                std::process::id(),
                self.next_id.fetch_add(1, Ordering::Relaxed)
            ),
            room: room.to_string(),
            from: from.to_string(),
            text: text.to_string(),
            time: now(),
        };
        self.record(message.clone())
            .then_some(message)
            .ok_or_else(|| no_such_room(room))
    }

    /// Keeps a message in its room's history (one posted here, or on another server of the
    /// cluster); false when the room does not exist here.
    pub fn record(&self, message: Message) -> bool {
        let mut rooms = self.lock();
        let Some(history) = rooms.get_mut(&message.room) else {
            return false;
        };
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message);
        true
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, VecDeque<Message>>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every change is
        // one insert or push), so the poison flag carries no information here.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A nickname as shown to others: trimmed, 1 to [`MAX_NAME`] characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Pick a nickname first.".into());
    }
    let length = name.chars().count();
    if length > MAX_NAME {
        return Err(format!(
            "A nickname has at most {MAX_NAME} characters; that one has {length}."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A nickname cannot hold control characters.".into());
    }
    Ok(name.to_string())
}

fn check_room_name(room: &str) -> Result<(), String> {
    let valid = !room.is_empty()
        && room.len() <= MAX_ROOM_NAME
        && room
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "A room name is 1 to {MAX_ROOM_NAME} of a-z, 0-9, '-' and '_'."
        ))
    }
}

pub fn no_such_room(room: &str) -> String {
    format!("There is no room named '{room}'. Create it with the + button.")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_last_fifty() {
        let rooms = Rooms::default();
        for i in 0..60 {
            rooms.post("general", "ann", &format!("m{i}")).unwrap();
        }
        let history = rooms.history("general");
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history[0].text, "m10");
        assert_eq!(history[49].text, "m59");
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let rooms = Rooms::default();
        assert!(check_name("  ").is_err());
        assert!(check_name(&"x".repeat(10_000)).is_err());
        assert_eq!(check_name(" ann ").unwrap(), "ann");
        assert!(rooms
            .post("general", "ann", &"x".repeat(MAX_TEXT + 1))
            .is_err());
        assert!(rooms.post("nowhere", "ann", "hi").is_err());
        assert!(rooms.create("Has Spaces").is_err());
        assert!(rooms.create("").is_err());
        rooms.create("new-room").unwrap();
        assert!(rooms.exists("new-room"));
    }

    #[test]
    fn the_number_of_rooms_is_bounded() {
        let rooms = Rooms::default();
        for i in 0..MAX_ROOMS - DEFAULT_ROOMS.len() {
            rooms.create(&format!("r{i}")).unwrap();
        }
        assert!(rooms.create("one-more").is_err());
        rooms.create("general").unwrap();
    }
}
