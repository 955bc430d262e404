//! Finding the replicas of a backend (inference, logging). tonic resolves a
//! host name once and pins the connection, so `docker compose --scale
//! inference=3` would leave two replicas idle. Instead the name is
//! re-resolved every refresh period, each address is probed with gRPC
//! health, and the healthy set is fed to tonic's `balance_channel` as inserts
//! and removals: new replicas get traffic within one period and dead ones
//! leave it. A failed call can ask for an early refresh
//! ([`Replicas::refresh_now`]).
//!
//! A replica on a host that vanished (powered off, cut from the network)
//! never closes its connections: nothing comes back at all. HTTP/2 pings
//! every [`KEEPALIVE`] find such a connection within two periods and fail the
//! calls waiting on it, which the callers then retry elsewhere; the health
//! probes, with their own short timeout, take the address out of the set.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use digits_service_kit::healthcheck;
use tokio::sync::{Notify, mpsc, watch};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt;

/// The shortest gap between two refreshes, so that a burst of failing calls
/// asking for a refresh does not turn into a burst of DNS queries.
const MIN_GAP: Duration = Duration::from_millis(50);
/// The refresh period while no replica is healthy (at start-up, say), so the
/// first one is found quickly.
const EMPTY_PERIOD: Duration = Duration::from_millis(250);
/// The HTTP/2 ping interval on every backend connection, and how long an
/// answer may take before the connection counts as dead.
pub const KEEPALIVE: Duration = Duration::from_secs(1);

/// A backend service the gateway spreads its calls over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// Its name in logs.
    pub name: &'static str,
    /// The service its health probes ask about (NOT_SERVING takes a replica out).
    pub health_service: &'static str,
    /// The gauge of its replicas, `known` and `healthy`.
    pub metric: &'static str,
}

impl Backend {
    /// The inference replicas.
    pub const INFERENCE: Self = Self {
        name: "inference",
        health_service: digits_proto::inference::v1::inference_server::SERVICE_NAME,
        metric: "digits_inference_replicas",
    };
    /// The logging replicas; one whose database is down reports NOT_SERVING.
    pub const LOGGING: Self = Self {
        name: "logging",
        health_service: digits_proto::logging::v1::logging_server::SERVICE_NAME,
        metric: "digits_logging_replicas",
    };
}

/// Turns the service name into the addresses of its replicas.
pub trait Resolve: Send + Sync + 'static {
    /// The current addresses.
    fn resolve(&self) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + '_>>;
}

/// Resolves `host:port` through the system resolver (Docker's DNS in compose,
/// which answers with one address per replica).
#[derive(Debug, Clone)]
pub struct DnsResolver {
    host: String,
    port: u16,
}

/// The URL is not `http://HOST:PORT`.
#[derive(Debug, thiserror::Error)]
#[error("{url:?} is not a service URL of the form http://HOST:PORT")]
pub struct BadUrl {
    url: String,
}

impl DnsResolver {
    /// A resolver for the host and port of `url` (`http://HOST:PORT`).
    ///
    /// # Errors
    /// When the URL has no host or port, or is not plain `http`.
    pub fn from_url(url: &str) -> Result<Self, BadUrl> {
        let bad = || BadUrl { url: url.to_owned() };
        let uri: tonic::codegen::http::Uri = url.parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let host = uri.host().ok_or_else(bad)?.trim_start_matches('[').trim_end_matches(']').to_owned();
        Ok(Self { host, port: uri.port_u16().ok_or_else(bad)? })
    }
}

impl Resolve for DnsResolver {
    fn resolve(&self) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + '_>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((self.host.as_str(), self.port)).await?.collect()) })
    }
}

/// How long a call waits for a healthy replica when there is none.
pub const NO_REPLICA_WAIT: Duration = Duration::from_secs(1);

/// The healthy replicas behind one balanced channel.
#[derive(Clone)]
pub struct Replicas {
    backend: Backend,
    channel: Channel,
    timeout: Duration,
    current: watch::Receiver<BTreeSet<SocketAddr>>,
    wake: Arc<Notify>,
}

impl Replicas {
    /// Starts the discovery of `backend`'s replicas. `timeout` bounds every
    /// call made through the channel. The task stops when every clone of the
    /// result is dropped.
    pub fn start(resolver: impl Resolve, backend: Backend, refresh: Duration, timeout: Duration) -> Self {
        let (channel, changes) = Channel::balance_channel(64);
        let (publish, current) = watch::channel(BTreeSet::new());
        let wake = Arc::new(Notify::new());
        let discovery = Discovery {
            backend,
            resolver: Box::new(resolver),
            changes,
            publish,
            probes: Mutex::new(BTreeMap::new()),
            timeout,
            probe_timeout: refresh.clamp(Duration::from_millis(100), Duration::from_secs(1)),
        };
        tokio::spawn(discovery.run(refresh, Arc::downgrade(&wake)));
        Self { backend, channel, timeout, current, wake }
    }

    /// The balanced channel over the healthy replicas, for gRPC clients.
    pub fn channel(&self) -> ReplicaChannel {
        ReplicaChannel { replicas: self.clone() }
    }

    /// The addresses currently receiving traffic.
    pub fn addresses(&self) -> BTreeSet<SocketAddr> {
        self.current.borrow().clone()
    }

    /// Asks for a refresh now, e.g. after a call failed because a replica went away.
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// Whether a replica is healthy, waiting up to `within` for one to
    /// appear (at start-up, or while a replica restarts) when none is.
    pub async fn any_within(&self, within: Duration) -> bool {
        let mut current = self.current.clone();
        if !current.borrow().is_empty() {
            return true;
        }
        self.refresh_now();
        tokio::time::timeout(within, current.wait_for(|set| !set.is_empty())).await.is_ok_and(|r| r.is_ok())
    }
}

/// A call over the healthy replicas of a backend that fails fast, and never
/// waits forever: tonic's balancing channel holds a call until some replica
/// is ready, with no deadline, so while none is (the logging service is
/// restarting, a node is gone), a call waits at most [`NO_REPLICA_WAIT`] for
/// one and then fails `UNAVAILABLE`, and a call sent to a replica is bounded
/// by the backend's timeout (`DEADLINE_EXCEEDED`).
#[derive(Clone)]
pub struct ReplicaChannel {
    replicas: Replicas,
}

impl tower::Service<http::Request<Body>> for ReplicaChannel {
    type Response = http::Response<Body>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is the balancer's, awaited within the call's deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let replicas = self.replicas.clone();
        Box::pin(async move {
            let name = replicas.backend.name;
            if !replicas.any_within(NO_REPLICA_WAIT).await {
                return Err(tonic::Status::unavailable(format!("no {name} replica is available")).into());
            }
            let call = async move { replicas.channel.clone().oneshot(request).await };
            match tokio::time::timeout(replicas.timeout, call).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(_) => {
                    Err(tonic::Status::deadline_exceeded(format!("the {name} service did not answer in time")).into())
                }
            }
        })
    }
}

struct Discovery {
    backend: Backend,
    resolver: Box<dyn Resolve>,
    changes: mpsc::Sender<Change<SocketAddr, Endpoint>>,
    publish: watch::Sender<BTreeSet<SocketAddr>>,
    /// One health-probe channel per known address, kept between refreshes.
    probes: Mutex<BTreeMap<SocketAddr, Channel>>,
    timeout: Duration,
    probe_timeout: Duration,
}

impl Discovery {
    async fn run(self, refresh: Duration, wake: std::sync::Weak<Notify>) {
        loop {
            self.refresh().await;
            tokio::time::sleep(MIN_GAP).await;
            // Stop once nobody holds the Replicas any more.
            let Some(wake) = wake.upgrade() else { return };
            let period = if self.publish.borrow().is_empty() { refresh.min(EMPTY_PERIOD) } else { refresh };
            tokio::select! {
                () = tokio::time::sleep(period.saturating_sub(MIN_GAP)) => {}
                () = wake.notified() => {}
            }
            if self.changes.is_closed() {
                return;
            }
        }
    }

    async fn refresh(&self) {
        let resolved = match self.resolver.resolve().await {
            Ok(addrs) => addrs.into_iter().collect::<BTreeSet<_>>(),
            Err(e) => {
                // Keep the current set: a DNS hiccup must not drop healthy replicas.
                tracing::warn!(error = %e, backend = self.backend.name, "resolving the backend's replicas failed");
                return;
            }
        };
        let healthy = self.probe_all(&resolved).await;
        metrics::gauge!(self.backend.metric, "state" => "known").set(resolved.len() as f64);
        metrics::gauge!(self.backend.metric, "state" => "healthy").set(healthy.len() as f64);
        let current = self.publish.borrow().clone();
        for addr in healthy.difference(&current) {
            tracing::info!(%addr, backend = self.backend.name, "replica added");
            let endpoint = self.endpoint(*addr);
            if self.changes.send(Change::Insert(*addr, endpoint)).await.is_err() {
                return;
            }
        }
        for addr in current.difference(&healthy) {
            tracing::info!(%addr, backend = self.backend.name, "replica removed");
            if self.changes.send(Change::Remove(*addr)).await.is_err() {
                return;
            }
        }
        if healthy != current {
            self.publish.send_replace(healthy);
        }
    }

    fn endpoint(&self, addr: SocketAddr) -> Endpoint {
        Endpoint::from_shared(format!("http://{addr}"))
            .expect("a socket address is a valid URI")
            .tcp_nodelay(true)
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .http2_keep_alive_interval(KEEPALIVE)
            .keep_alive_timeout(KEEPALIVE)
            .keep_alive_while_idle(true)
    }

    /// The addresses among `resolved` whose health check says SERVING.
    async fn probe_all(&self, resolved: &BTreeSet<SocketAddr>) -> BTreeSet<SocketAddr> {
        let channels: Vec<(SocketAddr, Channel)> = {
            let mut probes = self.probes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            probes.retain(|addr, _| resolved.contains(addr));
            resolved
                .iter()
                .map(|addr| {
                    let channel = probes.entry(*addr).or_insert_with(|| {
                        self.endpoint(*addr)
                            .timeout(self.probe_timeout)
                            .connect_timeout(self.probe_timeout)
                            .connect_lazy()
                    });
                    (*addr, channel.clone())
                })
                .collect()
        };
        let mut checks = tokio::task::JoinSet::new();
        for (addr, channel) in channels {
            let (timeout, service) = (self.probe_timeout, self.backend.health_service);
            checks.spawn(async move { (addr, healthcheck::check_channel(channel, service, timeout).await.is_ok()) });
        }
        let mut healthy = BTreeSet::new();
        while let Some(result) = checks.join_next().await {
            if let Ok((addr, true)) = result {
                healthy.insert(addr);
            }
        }
        healthy
    }
}
