//! A client that stops reading, over real TCP: what its emitters see once its send queue
//! (`max_buffer_size`) is full, and that the other clients do not notice.

mod common;

use common::*;

/// 64 KiB of queue per socket, so that a few chunks fill it once the kernel's buffers are full.
fn small_queues() -> SocketIo {
    io_with(SocketIoConfig::builder().max_buffer_size(64 << 10).build())
}

/// Emits `chunk` to `socket` until an emit fails for a full queue; panics if none does.
async fn fill(socket: &Socket, chunk: &str) {
    // The kernel's socket buffers take a while to fill; the queue bound applies after.
    for _ in 0..20_000 {
        match socket.emit("fill", chunk) {
            Ok(()) => tokio::time::sleep(Duration::from_micros(100)).await,
            Err(EmitError::Full) => return,
            Err(e) => panic!("emit failed with {e} before the queue was full"),
        }
    }
    panic!("a client that never reads never filled its queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_makes_emits_fail_and_volatile_emits_drop() {
    let io = small_queues();
    let addr = serve(&io).await;
    // Joined, then never read from again.
    let (_stalled, stalled_id) = Client::connect(addr, "/").await;
    let (mut reader, reader_id) = Client::connect(addr, "/").await;
    let stalled = socket_of(&io, "/", &stalled_id);

    let chunk = "z".repeat(16 << 10);
    fill(&stalled, &chunk).await;
    assert!(matches!(stalled.emit("more", &chunk), Err(EmitError::Full)));
    let asked = stalled
        .timeout(Duration::from_secs(1))
        .emit_with_ack::<_, Value>("question", &chunk)
        .await;
    assert!(
        matches!(asked, Err(AckError::Emit(EmitError::Full))),
        "{asked:?}"
    );
    assert!(
        matches!(stalled.volatile().emit("v", &1), Err(EmitError::Dropped)),
        "a volatile emit to the full socket is dropped"
    );

    // The reader is served as before: a broadcast to everyone skips the full socket and
    // reaches it, and so does a volatile emit.
    io.emit("news", &2).expect("a broadcast");
    assert_eq!(reader.next_args("/", "news").await, [json!(2)]);
    let reader_socket = socket_of(&io, "/", &reader_id);
    // The server marks the transport writable again just after the client has the frame.
    eventually("the reader's transport to be writable", || {
        reader_socket.is_writable()
    })
    .await;
    reader_socket.volatile().emit("v", &3).expect("volatile");
    assert_eq!(reader.next_args("/", "v").await, [json!(3)]);
}
