//! Prometheus metrics, on `prometheus-client`: counters that the server's paths add to (one
//! atomic add each, on handles each namespace resolves once), and gauges read from the
//! server's own state when Prometheus scrapes, so that what is not asked for costs nothing.

use crate::adapter::AdapterError;
use crate::client::EngineHandler;
use crate::io::ServerInner;
use crate::observer::EngineObserver;
use engineio::{CloseReason, EngineIo, Transport};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabel {
    namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabel {
    namespace: String,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabel {
    namespace: String,
    operation: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabel {
    namespace: String,
    reason: &'static str,
}

/// The counters of a server, as families its namespaces take their handles from; the
/// engine's are counted as the server's first [`EngineObserver`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    handshakes: Family<TransportLabel, Counter>,
    upgrades: Counter,
    disconnects: Family<ReasonLabel, Counter>,
    bytes_received: Counter,
    bytes_sent: Counter,
    packets_received: Family<NamespaceLabel, Counter>,
    packets_sent: Family<NamespaceLabel, Counter>,
    broadcasts: Family<NamespaceLabel, Counter>,
    ack_timeouts: Family<NamespaceLabel, Counter>,
    dropped: Family<DropLabel, Counter>,
    adapter_requests: Family<RequestLabel, Counter>,
    adapter_failures: Family<FailureLabel, Counter>,
}

impl Counters {
    /// The counters, registered under their names in `registry`.
    fn register(registry: &mut Registry) -> Arc<Self> {
        let counters = Arc::new(Self::default());
        let c = &counters;
        registry.register(
            "socketio_handshakes",
            "Engine sessions opened, by the transport they opened on",
            c.handshakes.clone(),
        );
        registry.register(
            "socketio_upgrades",
            "Polling sessions moved to WebSocket",
            c.upgrades.clone(),
        );
        registry.register(
            "socketio_disconnects",
            "Engine sessions closed, by reason (\"ping timeout\" is a heartbeat timeout)",
            c.disconnects.clone(),
        );
        registry.register(
            "socketio_received_bytes",
            "Bytes of engine messages received",
            c.bytes_received.clone(),
        );
        registry.register(
            "socketio_sent_bytes",
            "Bytes of engine messages written to transports",
            c.bytes_sent.clone(),
        );
        registry.register(
            "socketio_packets_received",
            "socket.io packets received from connected sockets (events, acks, disconnects), by namespace",
            c.packets_received.clone(),
        );
        registry.register(
            "socketio_packets_sent",
            "socket.io packets queued for connected sockets, a broadcast once per recipient, by namespace",
            c.packets_sent.clone(),
        );
        registry.register(
            "socketio_broadcasts",
            "Broadcasts made on this server, by namespace",
            c.broadcasts.clone(),
        );
        registry.register(
            "socketio_ack_timeouts",
            "Acknowledgements not received in time, by namespace",
            c.ack_timeouts.clone(),
        );
        registry.register(
            "socketio_dropped_packets",
            "Packets not queued: \"volatile\" (the transport was busy) or \"full\" (the send queue was)",
            c.dropped.clone(),
        );
        registry.register(
            "socketio_adapter_requests",
            "Requests to the cluster through the adapter (fetch_sockets, sockets_join, server_side_emit_with_ack, ...), by namespace and operation",
            c.adapter_requests.clone(),
        );
        registry.register(
            "socketio_adapter_failures",
            "Adapter requests and broadcasts that did not reach the whole cluster, by namespace, operation and error (\"timeout\": not every server answered in time; \"backlog\": the queue to the cluster was full; \"other\")",
            c.adapter_failures.clone(),
        );
        counters
    }

    /// The handles of a namespace, resolved once so that counting takes no lookup.
    pub(crate) fn namespace(&self, name: &str) -> NamespaceCounters {
        let label = NamespaceLabel {
            namespace: name.to_owned(),
        };
        let dropped = |reason| {
            self.dropped
                .get_or_create(&DropLabel {
                    namespace: name.to_owned(),
                    reason,
                })
                .clone()
        };
        NamespaceCounters {
            packets_received: self.packets_received.get_or_create(&label).clone(),
            packets_sent: self.packets_sent.get_or_create(&label).clone(),
            broadcasts: self.broadcasts.get_or_create(&label).clone(),
            ack_timeouts: self.ack_timeouts.get_or_create(&label).clone(),
            dropped_volatile: dropped("volatile"),
            dropped_full: dropped("full"),
            adapter: AdapterCounters {
                namespace: name.to_owned(),
                requests: self.adapter_requests.clone(),
                failures: self.adapter_failures.clone(),
                servers: Arc::new(AtomicUsize::new(0)),
            },
        }
    }
}

impl EngineObserver for Counters {
    fn opened(&self, transport: Transport) {
        self.handshakes
            .get_or_create(&TransportLabel {
                transport: transport_name(transport),
            })
            .inc();
    }

    fn upgraded(&self, _sockets: &[crate::Socket]) {
        self.upgrades.inc();
    }

    fn received(&self, bytes: usize) {
        self.bytes_received.inc_by(bytes as u64);
    }

    fn sent(&self, _messages: usize, bytes: usize) {
        self.bytes_sent.inc_by(bytes as u64);
    }

    fn closed(&self, _transport: Transport, reason: CloseReason) {
        self.disconnects
            .get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            })
            .inc();
    }
}

/// A namespace's counters.
#[derive(Debug, Clone)]
pub(crate) struct NamespaceCounters {
    pub(crate) packets_received: Counter,
    pub(crate) packets_sent: Counter,
    pub(crate) broadcasts: Counter,
    pub(crate) ack_timeouts: Counter,
    pub(crate) dropped_volatile: Counter,
    pub(crate) dropped_full: Counter,
    pub(crate) adapter: AdapterCounters,
}

/// What a namespace's adapter is asked, for [`Metered`](crate::adapter::Metered). Requests
/// are few next to packets: their labels are looked up per request.
#[derive(Debug, Clone)]
pub(crate) struct AdapterCounters {
    namespace: String,
    requests: Family<RequestLabel, Counter>,
    failures: Family<FailureLabel, Counter>,
    /// The cluster's size when last asked; 0 until then.
    servers: Arc<AtomicUsize>,
}

impl AdapterCounters {
    pub(crate) fn request(&self, operation: &'static str) {
        self.requests
            .get_or_create(&RequestLabel {
                namespace: self.namespace.clone(),
                operation,
            })
            .inc();
    }

    pub(crate) fn failure(&self, operation: &'static str, error: &AdapterError) {
        let error = match error {
            AdapterError::Timeout => "timeout",
            AdapterError::Backlog => "backlog",
            AdapterError::Other(_) => "other",
        };
        self.failures
            .get_or_create(&FailureLabel {
                namespace: self.namespace.clone(),
                operation,
                error,
            })
            .inc();
    }

    pub(crate) fn servers(&self, count: usize) {
        self.servers.store(count, Relaxed);
    }

    fn last_servers(&self) -> usize {
        self.servers.load(Relaxed)
    }
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Polling => "polling",
        Transport::Websocket => "websocket",
    }
}

/// The server's metrics in Prometheus's text format: what [`SocketIo::metrics`](crate::SocketIo::metrics)
/// gives when the server was built with
/// [`SocketIoBuilder::metrics`](crate::SocketIoBuilder::metrics). Every name is in the README.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = socketio::SocketIo::builder().metrics().build();
/// let app = axum::Router::new()
///     .route("/metrics", io.metrics_route())
///     .merge(io.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
}

impl Metrics {
    /// The `Content-Type` of [`render`](Self::render)'s text: Prometheus's text format 0.0.4.
    pub const CONTENT_TYPE: &'static str =
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

    /// Every metric, as Prometheus reads it.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// A registry with the server's counters, and its live gauges once the engine is there.
pub(crate) struct Builder {
    registry: Registry,
    pub(crate) counters: Arc<Counters>,
}

impl Builder {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let counters = Counters::register(&mut registry);
        Self { registry, counters }
    }

    /// The metrics, with the gauges read from `server` and `engine` at each scrape. The
    /// collector holds the server weakly: the registry lives in the `SocketIo` handles, which
    /// the server does not point back to.
    pub(crate) fn finish(
        mut self,
        server: &Arc<ServerInner>,
        engine: &EngineIo<EngineHandler>,
    ) -> Metrics {
        self.registry.register_collector(Box::new(Live {
            server: Arc::downgrade(server),
            engine: engine.clone(),
        }));
        Metrics {
            registry: Arc::new(self.registry),
        }
    }
}

/// The gauges, read when scraped.
struct Live {
    server: Weak<ServerInner>,
    engine: EngineIo<EngineHandler>,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Live")
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let mut by_transport = [(Transport::Polling, 0i64), (Transport::Websocket, 0)];
        let mut buffered = 0i64;
        for conn in self.engine.sockets() {
            let at = usize::from(conn.transport() == Transport::Websocket);
            by_transport[at].1 += 1;
            buffered += i64::try_from(conn.buffered_bytes()).unwrap_or(i64::MAX);
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "socketio_connections",
            "Engine sessions open now, by transport",
            None,
            gauge.metric_type(),
        )?;
        for (transport, count) in by_transport {
            let label = TransportLabel {
                transport: transport_name(transport),
            };
            ConstGauge::new(count).encode(family.encode_family(&label)?)?;
        }
        ConstGauge::new(buffered).encode(encoder.encode_descriptor(
            "socketio_write_buffer_bytes",
            "Bytes queued for clients and not yet written, every session together",
            None,
            gauge.metric_type(),
        )?)?;

        let Some(server) = self.server.upgrade() else {
            return Ok(());
        };
        let mut sockets = BTreeMap::new();
        let mut acks = BTreeMap::new();
        let mut servers = BTreeMap::new();
        for namespace in server.namespaces() {
            let members = namespace.sockets();
            let pending: usize = members.iter().map(crate::Socket::pending_acks).sum();
            acks.insert(namespace.name().to_string(), pending as i64);
            sockets.insert(namespace.name().to_string(), members.len() as i64);
            let known = namespace.counters().map_or(0, |c| c.adapter.last_servers());
            if known > 0 {
                servers.insert(namespace.name().to_string(), known as i64);
            }
        }
        for (name, help, values) in [
            (
                "socketio_sockets",
                "Sockets connected now, by namespace",
                &sockets,
            ),
            (
                "socketio_acks_pending",
                "Acknowledgements the server waits for now, by namespace",
                &acks,
            ),
            (
                "socketio_cluster_servers",
                "Servers sharing the namespace, as the adapter counted them when last asked (metrics_route asks before each scrape)",
                &servers,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            for (namespace, value) in values {
                let label = NamespaceLabel {
                    namespace: namespace.clone(),
                };
                ConstGauge::new(*value).encode(family.encode_family(&label)?)?;
            }
        }
        Ok(())
    }
}
