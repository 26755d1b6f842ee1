//! A socket's handshake as Node's servers describe it to each other in `fetchSockets` answers:
//! `{headers, time, address, xdomain, secure, issued, url, query, auth}`.

use serde_json::{json, Map, Value};
use socketio::Handshake;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

pub fn to_json(handshake: &Handshake) -> Value {
    let mut headers = Map::new();
    let header_map = handshake.headers();
    for name in header_map.keys() {
        let values: Vec<&str> = header_map
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::from(values.join(", ")));
    }
    let query: Map<String, Value> = handshake
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    let issued = handshake
        .time()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    json!({
        "headers": headers,
        "time": js_date(issued),
        "address": handshake.address().map(|a| a.ip().to_string()).unwrap_or_default(),
        "xdomain": header_map.contains_key("origin"),
        "secure": false,
        "issued": issued.as_millis() as u64,
        "url": handshake.url(),
        "query": query,
        "auth": handshake.auth,
    })
}

pub fn from_json(value: &Value) -> Handshake {
    let mut headers = http::HeaderMap::new();
    if let Some(map) = value["headers"].as_object() {
        for (name, v) in map {
            let parsed = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(v.as_str().unwrap_or_default()),
            );
            if let (Ok(name), Ok(v)) = parsed {
                headers.append(name, v);
            }
        }
    }
    // Node gives the address without a port, IPv4 often mapped into IPv6.
    let address = value["address"]
        .as_str()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip.to_canonical(), 0));
    let issued = value["issued"].as_u64().unwrap_or_default();
    // Node's `query` is parsed from `url`, which is where ours is read from.
    Handshake::described(
        headers,
        value["url"].as_str().unwrap_or_default(),
        address,
        UNIX_EPOCH + Duration::from_millis(issued),
        value.get("auth").cloned().unwrap_or_else(|| json!({})),
    )
}

/// JavaScript's `Date.prototype.toString()` in UTC, the form Node's `handshake.time` has:
/// `Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)`.
fn js_date(since_epoch: Duration) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = since_epoch.as_secs();
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let time = secs % 86_400;
    format!(
        "{} {} {day:02} {year} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3600,
        time % 3600 / 60,
        time % 60,
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_node_writes_them() {
        // 2026-11-22T08:36:39Z, as captured from Node.
        let t = Duration::from_secs(1_795_336_599);
        assert_eq!(
            js_date(t),
            "Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date(Duration::ZERO),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn a_handshake_round_trips() {
        let node = json!({
            "headers": {"host": "127.0.0.1:3000", "user-agent": "node"},
            "time": "Sun Nov 22 2026 08:36:39 GMT+0000 (Coordinated Universal Time)",
            "address": "::ffff:127.0.0.1", "xdomain": false, "secure": false,
            "issued": 1_795_336_599_289u64, "url": "/socket.io/?EIO=4&transport=polling",
            "query": {"EIO": "4", "transport": "polling"}, "auth": {"token": "t"}
        });
        let handshake = from_json(&node);
        assert_eq!(handshake.address(), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(handshake.auth["token"], "t");
        let back = to_json(&handshake);
        assert_eq!(back["headers"], node["headers"]);
        assert_eq!(back["issued"], node["issued"]);
        assert_eq!(back["time"], node["time"]);
        assert_eq!(back["query"], node["query"]);
        assert_eq!(back["url"], node["url"]);
    }
}
