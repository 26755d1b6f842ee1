//! The `Sec-WebSocket-Extensions` agreement: which of the client's permessage-deflate offers is
//! taken, and the answer that goes back in the 101. The rules are ws's (what Node answers), but
//! for one: an offer that limits the server's window to 8 bits is passed over, as zlib's raw
//! deflate has no window under 9 bits (Node's zlib would silently use 9).

use super::PerMessageDeflate;
use http::HeaderValue;

/// What both ends agreed to, for the life of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// The threshold and level the server compresses with.
    pub(crate) options: PerMessageDeflate,
    /// The client compresses each message from a fresh state: its inflater need not outlive
    /// the message.
    pub(crate) client_no_context_takeover: bool,
    /// The largest window the server may compress with, in bits (9 to 15).
    pub(crate) server_max_window_bits: u8,
}

/// The agreement for these `Sec-WebSocket-Extensions` header values, with the header to answer:
/// `Ok(None)` when the client offered nothing the server takes (the connection goes on without
/// compression), `Err(())` when an offer is malformed (ws refuses the handshake with 400).
pub(crate) fn negotiate<'a>(
    options: &PerMessageDeflate,
    offers: impl IntoIterator<Item = &'a HeaderValue>,
) -> Result<Option<(Agreed, HeaderValue)>, ()> {
    let mut chosen = None;
    for value in offers {
        let text = value.to_str().map_err(|_| ())?;
        for extension in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let mut parts = extension.split(';').map(str::trim);
            if !parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("permessage-deflate"))
            {
                continue;
            }
            // Every offer is checked, as ws does, even after one was taken.
            let offer = Offer::parse(parts)?;
            if chosen.is_none() && offer.server_max_window_bits.is_none_or(|bits| bits >= 9) {
                chosen = Some(offer);
            }
        }
    }
    let Some(offer) = chosen else {
        return Ok(None);
    };
    let agreed = Agreed {
        options: *options,
        client_no_context_takeover: offer.client_no_context_takeover
            || options.client_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits.unwrap_or(15),
    };
    let mut answer = String::from("permessage-deflate");
    if offer.server_no_context_takeover || options.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if agreed.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = offer.server_max_window_bits {
        answer.push_str(&format!("; server_max_window_bits={bits}"));
    }
    // A bare `client_max_window_bits` only says the client could take a number: ws sends
    // none back, and the client keeps its 15 bits. The inflater here takes any window.
    if let Some(Some(bits)) = offer.client_max_window_bits {
        answer.push_str(&format!("; client_max_window_bits={bits}"));
    }
    let header = HeaderValue::from_str(&answer).map_err(|_| ())?;
    Ok(Some((agreed, header)))
}

/// One permessage-deflate offer's parameters.
#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Present with or without a number.
    client_max_window_bits: Option<Option<u8>>,
}

impl Offer {
    /// The parameters after the name; an unknown or repeated one, a value where none belongs
    /// or a window outside 8..=15 make the offer malformed.
    fn parse<'a>(params: impl Iterator<Item = &'a str>) -> Result<Self, ()> {
        let mut offer = Offer::default();
        let mut seen = [false; 4];
        for param in params {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
                None => (param, None),
            };
            let index = match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" if value.is_none() => {
                    offer.server_no_context_takeover = true;
                    0
                }
                "client_no_context_takeover" if value.is_none() => {
                    offer.client_no_context_takeover = true;
                    1
                }
                "server_max_window_bits" => {
                    offer.server_max_window_bits = Some(window_bits(value.ok_or(())?)?);
                    2
                }
                "client_max_window_bits" => {
                    offer.client_max_window_bits = Some(value.map(window_bits).transpose()?);
                    3
                }
                _ => return Err(()),
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(());
            }
        }
        Ok(offer)
    }
}

fn window_bits(value: &str) -> Result<u8, ()> {
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) if value.bytes().all(|b| b.is_ascii_digit()) => Ok(bits),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(offers: &[&'static str]) -> Result<Option<String>, ()> {
        answer_with(&PerMessageDeflate::default(), offers)
    }

    fn answer_with(
        options: &PerMessageDeflate,
        offers: &[&'static str],
    ) -> Result<Option<String>, ()> {
        let values: Vec<HeaderValue> = offers.iter().map(|o| HeaderValue::from_static(o)).collect();
        negotiate(options, &values)
            .map(|agreed| agreed.map(|(_, header)| header.to_str().unwrap().to_owned()))
    }

    #[test]
    fn browsers_and_ws_get_what_ws_answers() {
        // Chromium and ws: a bare client_max_window_bits is not answered.
        assert_eq!(
            answer(&["permessage-deflate; client_max_window_bits"]),
            Ok(Some("permessage-deflate".into()))
        );
        // Firefox.
        assert_eq!(
            answer(&["permessage-deflate"]),
            Ok(Some("permessage-deflate".into()))
        );
        assert_eq!(
            answer(&["permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"]),
            Ok(Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10".into()))
        );
    }

    #[test]
    fn a_server_window_is_taken_down_to_9_bits() {
        assert_eq!(
            answer(&["permessage-deflate; server_max_window_bits=10"]),
            Ok(Some("permessage-deflate; server_max_window_bits=10".into()))
        );
        assert_eq!(
            answer(&["permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9"]),
            Ok(Some("permessage-deflate; server_max_window_bits=9".into()))
        );
        assert_eq!(
            answer(&["permessage-deflate; server_max_window_bits=8"]),
            Ok(None)
        );
        // Several headers count as one list; other extensions are passed over.
        assert_eq!(
            answer(&["x-webkit-deflate-frame", "permessage-deflate"]),
            Ok(Some("permessage-deflate".into()))
        );
        assert_eq!(answer(&["x-webkit-deflate-frame"]), Ok(None));
    }

    #[test]
    fn the_servers_own_settings_are_added_unasked() {
        let options = PerMessageDeflate {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..PerMessageDeflate::default()
        };
        assert_eq!(
            answer_with(&options, &["permessage-deflate"]),
            Ok(Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover".into()
            ))
        );
    }

    #[test]
    fn malformed_offers_are_refused() {
        for offer in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=+9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; x=1",
            // A bad offer after a good one still fails the handshake, as with ws.
            "permessage-deflate, permessage-deflate; nope",
        ] {
            assert_eq!(answer(&[offer]), Err(()), "{offer}");
        }
    }
}
