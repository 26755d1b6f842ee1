//! An existing axum app that gains socket.io: its own route stays where it was, and socket.io
//! answers under `/socket.io/` on the same port.
//!
//! Run it, then from a page or Node: `io("http://127.0.0.1:3000").emitWithAck("hello", "you")`
//! resolves to `"hello, you"`.

use axum::routing::get;
use axum::Router;
use socketio::{AckSender, Data, Socket, SocketIo};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new();
    io.on_connection(|socket: Socket| async move {
        socket.on(
            "hello",
            |Data(name): Data<String>, ack: AckSender| async move {
                let _ = ack.send(&format!("hello, {name}"));
            },
        );
    });

    let app = Router::new()
        .route("/", get(|| async { "the app's own page" }))
        .merge(io.router());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    // Small realtime messages must not wait for Nagle's algorithm (Node's ws turns it off too).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
