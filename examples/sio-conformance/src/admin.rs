//! With `ADMIN_UI=user:password` the server has the admin UI's namespace `/admin`
//! (`socketio_admin_ui`, development mode, stats every 500 ms), as the Node reference has
//! `instrument(io, {auth: {type: "basic", username, password: bcrypt(password)}, mode:
//! "development"})`; with `ADMIN_READONLY=1` too, read-only; with `ADMIN_MODE=production`,
//! production mode. `e2e-js/test/admin-ui.test.mjs` drives it.

use socketio::SocketIo;
use socketio_admin_ui::{instrument as turn_on, Auth, InstrumentOptions, Mode};
use std::time::Duration;

pub(crate) fn instrument(io: &SocketIo) -> std::io::Result<()> {
    let Ok(spec) = std::env::var("ADMIN_UI") else {
        return Ok(());
    };
    let Some((username, password)) = spec.split_once(':') else {
        return Err(std::io::Error::other("ADMIN_UI must be user:password"));
    };
    // The lowest cost: the tests log in many times, and this is no real password.
    let password_hash =
        socketio_admin_ui::hash_password(password, 4).map_err(std::io::Error::other)?;
    let options = InstrumentOptions::new(Auth::Basic {
        username: username.to_owned(),
        password_hash,
    })
    .mode(match std::env::var("ADMIN_MODE").as_deref() {
        Ok("production") => Mode::Production,
        _ => Mode::Development,
    })
    .readonly(std::env::var("ADMIN_READONLY").as_deref() == Ok("1"))
    .server_id(std::env::var("ADMIN_SERVER_ID").unwrap_or_else(|_| "rust".to_owned()))
    .stats_interval(Duration::from_millis(500));
    turn_on(io, options).map_err(std::io::Error::other)
}
