//! The `tracing` spans: what an application's log lines inside its handlers are attached to, as
//! a subscriber (an OpenTelemetry exporter, say) sees them.

mod common;
use common::*;
use std::collections::BTreeMap;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span's name and fields, as text.
#[derive(Clone, Debug)]
struct SpanSeen {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// A log line's message, and the spans it is inside, innermost first.
type Line = (String, Vec<SpanSeen>);

/// Records every log line.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Line>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanSeen {
                name: attrs.metadata().name(),
                fields: fields.0,
            });
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .filter_map(|span| span.extensions().get::<SpanSeen>().cloned())
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().push((message, spans));
    }
}

impl Recorder {
    /// The spans the log line `message` was inside.
    fn spans_of(&self, message: &str) -> Option<Vec<SpanSeen>> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .find(|(m, _)| m == message)
            .map(|(_, spans)| spans.clone())
    }
}

// One thread: the subscriber set for the test is the one every handler runs under.
#[tokio::test(flavor = "current_thread")]
async fn handlers_run_inside_spans_that_name_the_socket() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let io = SocketIo::new();
    io.of("/chat").on_connection(|socket: Socket| async move {
        tracing::info!("connected");
        socket.on("hello", |socket: Socket| async move {
            tokio::task::yield_now().await; // past the first poll: the span goes along
            tracing::info!("hello handled");
            let _ = socket.emit("done", &());
        });
        socket.on_disconnect(|| async {
            tracing::info!("gone");
        });
    });
    let addr = serve(&io).await;
    let mut client = Client::open(addr).await;
    let sid = client.join_ok("/chat", None).await;
    client.emit("/chat", "hello", json!([])).await;
    client.next_event("/chat", "done").await;
    let engine_sid = socket_of(&io, "/chat", &sid).engine_id().to_string();
    client.close().await;
    eventually("the disconnect handler", || {
        recorder.spans_of("gone").is_some()
    })
    .await;

    let expect = |message: &str, name: &str, extra: &[(&str, &str)]| {
        let spans = recorder
            .spans_of(message)
            .unwrap_or_else(|| panic!("no {message:?}"));
        let span = spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{message:?} not inside {name}: {spans:?}"));
        assert_eq!(span.fields["socket"], sid, "{span:?}");
        assert_eq!(span.fields["engine_sid"], engine_sid, "{span:?}");
        assert_eq!(span.fields["namespace"], "/chat", "{span:?}");
        for (key, value) in extra {
            assert_eq!(span.fields[*key], *value, "{span:?}");
        }
    };
    expect("connected", "socketio.connect", &[]);
    expect("hello handled", "socketio.event", &[("event", "hello")]);
    expect(
        "gone",
        "socketio.disconnect",
        &[("reason", "transport close")],
    );
}
