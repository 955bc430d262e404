//! The whole back end on loopback ports for the gateway's tests: real
//! inference servers (the embedded model), a real logging service on a
//! throwaway PostgreSQL database, and the gateway in front. Each backend runs
//! on its own tokio runtime, so that killing it really closes its sockets,
//! as a crashed container would.

#![allow(dead_code, missing_docs)]

use std::future::pending;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use digits_gateway::config::Config;
use digits_gateway::discovery::Resolve;
use digits_gateway::startup::Application;
use digits_test_postgres::TestDatabase;
pub use digits_test_support::loopback;
use digits_test_support::{Running, TempDir};
use tokio::runtime::Runtime;

/// A server on a runtime of its own; dropping it kills it abruptly.
pub struct Backend {
    pub addr: SocketAddr,
    runtime: Option<Runtime>,
}

impl Backend {
    /// The inference service on `addr` (port 0 for any).
    pub fn inference(addr: SocketAddr, replica: &str) -> Self {
        Self::inference_with(digits_inference::config::Config { addr, replica: replica.into(), ..Default::default() })
    }

    /// The inference service with `config`, on one worker and a free metrics port.
    pub fn inference_with(config: digits_inference::config::Config) -> Self {
        let config = digits_inference::config::Config { workers: 1, metrics_addr: loopback(), ..config };
        Self::spawn(move || async move {
            let app = digits_inference::startup::Application::build(config).await.expect("inference starts");
            let addr = app.local_addr().expect("bound");
            (addr, async move { app.run_until_stopped(pending()).await.expect("serves") })
        })
    }

    /// The logging service on `addr`, storing in `database_url`.
    pub fn logging(addr: SocketAddr, database_url: &str) -> Self {
        let config = digits_logging::config::Config {
            addr,
            metrics_addr: loopback(),
            database_url: database_url.into(),
            db_timeout: Duration::from_millis(1500),
            ..Default::default()
        };
        Self::spawn(move || async move {
            let app = digits_logging::startup::Application::build(config).await.expect("logging starts");
            let addr = app.local_addr().expect("bound");
            (addr, async move { app.run_until_stopped(pending()).await.expect("serves") })
        })
    }

    fn spawn<B, BF, S>(build: B) -> Self
    where
        B: FnOnce() -> BF + Send + 'static,
        BF: std::future::Future<Output = (SocketAddr, S)>,
        S: std::future::Future<Output = ()> + Send + 'static,
    {
        // A runtime cannot be started from within the test's own runtime.
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
            let (addr, serve) = runtime.block_on(build());
            runtime.spawn(serve);
            Self { addr, runtime: Some(runtime) }
        })
        .join()
        .expect("backend thread")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server: every task and socket goes at once.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A TCP proxy in front of a server, standing for the network path to a
/// host. [`Vanishing::vanish`] is the host powered off or cut from the
/// network: from then on nothing passes in either direction and nothing is
/// closed either, so its peers hear silence, not a reset.
pub struct Vanishing {
    pub addr: SocketAddr,
    gone: Arc<std::sync::atomic::AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl Vanishing {
    /// Listens on `addr` (port 0 for any) and forwards to `upstream`.
    pub async fn start(addr: SocketAddr, upstream: SocketAddr) -> Self {
        use std::sync::atomic::AtomicBool;
        let listener = tokio::net::TcpListener::bind(addr).await.expect("proxy binds");
        let addr = listener.local_addr().expect("bound");
        let gone = Arc::new(AtomicBool::new(false));
        let flag = gone.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let gone = flag.clone();
                tokio::spawn(async move {
                    if gone.load(std::sync::atomic::Ordering::SeqCst) {
                        // A SYN the dead host never answers: hold it open, say nothing.
                        let _silence = client;
                        return pending::<()>().await;
                    }
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(pump(client_read, server_write, gone.clone()));
                    pump(server_read, client_write, gone).await;
                });
            }
        });
        Self { addr, gone, accept }
    }

    /// From now on the host is silent.
    pub fn vanish(&self) {
        self.gone.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Vanishing {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies `from` to `to` until the host vanishes; then holds both open and silent.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    gone: Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = from.read(&mut buffer).await;
        if gone.load(std::sync::atomic::Ordering::SeqCst) {
            let _silence = (from, to);
            return pending::<()>().await;
        }
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A resolver answering with a list the test controls, standing in for
/// Docker's DNS with one address per replica.
#[derive(Clone, Default)]
pub struct TestResolver(pub Arc<Mutex<Vec<SocketAddr>>>);

impl TestResolver {
    pub fn set(&self, addrs: Vec<SocketAddr>) {
        *self.0.lock().expect("lock") = addrs;
    }
}

impl Resolve for TestResolver {
    fn resolve(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + '_>> {
        let addrs = self.0.lock().expect("lock").clone();
        Box::pin(async move { Ok(addrs) })
    }
}

/// The gateway on loopback ports, in the test's runtime.
pub struct Gateway {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub queue: Arc<digits_gateway::log_queue::LogQueue>,
    running: Running,
    /// The gateway's own spool folder, unless the test gave one.
    _spool: Option<TempDir>,
}

/// The rate limits a test's gateway runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limits {
    /// Those the test set; where it left a default, far above any test's pace.
    Fast,
    /// Exactly those of the config, defaults included.
    AsGiven,
}

impl Gateway {
    pub async fn start(config: Config, resolver: TestResolver) -> Self {
        let logging = digits_gateway::discovery::DnsResolver::from_url(&config.logging_url).expect("a logging URL");
        Self::start_with(config, resolver, logging).await
    }

    /// The gateway finding the logging replicas through `logging` too.
    pub async fn start_with(config: Config, resolver: TestResolver, logging: impl Resolve) -> Self {
        Self::launch(config, resolver, logging, Limits::Fast).await
    }

    async fn launch(config: Config, resolver: TestResolver, logging: impl Resolve, limits: Limits) -> Self {
        // Each gateway has its own spool, unless the test shares one on purpose.
        let spool = (config.log_spool_dir == Config::default().log_spool_dir).then(|| TempDir::new("gateway-spool"));
        let log_spool_dir = spool.as_ref().map_or_else(|| config.log_spool_dir.clone(), |d| d.path().to_path_buf());
        // Tests send faster than any person; the rate tests set their own.
        let fast = |value, default| {
            if value == default && limits == Limits::Fast {
                std::num::NonZeroU32::new(100_000).expect("non-zero")
            } else {
                value
            }
        };
        let defaults = Config::default();
        let rate_limit = fast(config.rate_limit, defaults.rate_limit);
        let rate_burst = fast(config.rate_burst, defaults.rate_burst);
        let address_rate_limit = fast(config.address_rate_limit, defaults.address_rate_limit);
        let address_rate_burst = fast(config.address_rate_burst, defaults.address_rate_burst);
        let config = Config {
            http_addr: loopback(),
            grpc_addr: loopback(),
            log_spool_dir,
            rate_limit,
            rate_burst,
            address_rate_limit,
            address_rate_burst,
            ..config
        };
        let app = Application::build_with_resolvers(config, resolver, logging).await.expect("gateway starts");
        let (http, grpc, queue) = (app.http_addr().expect("http"), app.grpc_addr().expect("grpc"), app.log_queue());
        let running = Running::spawn(|stop| app.run_until_stopped(stop));
        let gateway = Self { http, grpc, queue, running, _spool: spool };
        gateway.wait_ready().await;
        gateway
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Waits until `/readyz` says 200.
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway never became ready");
    }

    /// Graceful shutdown: waits until the servers stopped and the queue drained.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// `POST /api/predictions` of the first MNIST test digit drawn on a canvas,
/// as `http`: add headers (a token) and send it.
pub fn post_digit(stack: &Stack, http: &reqwest::Client) -> reqwest::RequestBuilder {
    let (image, _) = &test_digits(1)[0];
    http.post(stack.url("/api/predictions")).header("content-type", "image/png").body(canvas_png(image))
}

/// `POST /api/predictions` of `png` as the stack's own visitor.
pub async fn predict_png(stack: &Stack, png: Vec<u8>) -> reqwest::Response {
    stack
        .http
        .post(stack.url("/api/predictions"))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .expect("sent")
}

/// A client of the gateway's public gRPC port.
pub async fn grpc_client(
    stack: &Stack,
) -> digits_proto::inference::v1::inference_client::InferenceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", stack.gateway.grpc))
        .expect("url")
        .connect()
        .await
        .expect("connects");
    digits_proto::inference::v1::inference_client::InferenceClient::new(channel)
}

/// An HTTP client that keeps its cookies, as a browser does: one visitor.
pub fn visitor() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}

/// One inference server, the logging service on a fresh PostgreSQL
/// database, and the gateway.
pub struct Stack {
    pub db: TestDatabase,
    pub inference: Backend,
    pub logging: Option<Backend>,
    pub logging_addr: SocketAddr,
    pub gateway: Gateway,
    pub http: reqwest::Client,
    pub resolver: TestResolver,
}

impl Stack {
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        Self::with_inference(config, Backend::inference(loopback(), "only")).await
    }

    /// The stack with exactly the rate limits of `config`, the shipped
    /// defaults included.
    pub async fn with_limits_as_given(config: Config) -> Self {
        Self::build(config, Backend::inference(loopback(), "only"), Limits::AsGiven).await
    }

    /// The stack over an inference server of the test's own.
    pub async fn with_inference(config: Config, inference: Backend) -> Self {
        Self::build(config, inference, Limits::Fast).await
    }

    async fn build(config: Config, inference: Backend, limits: Limits) -> Self {
        let db = TestDatabase::new();
        let logging = Backend::logging(loopback(), db.url());
        let resolver = TestResolver::default();
        resolver.set(vec![inference.addr]);
        let config = Config {
            logging_url: logging.url(),
            backend_refresh: Duration::from_millis(200),
            grpc_timeout: Duration::from_secs(3),
            web_dir: if config.web_dir == Config::default().web_dir {
                std::env::temp_dir().join("digits-no-web-app")
            } else {
                config.web_dir.clone()
            },
            ..config
        };
        let logging_resolver =
            digits_gateway::discovery::DnsResolver::from_url(&config.logging_url).expect("a logging URL");
        let gateway = Gateway::launch(config, resolver.clone(), logging_resolver, limits).await;
        Self { db, inference, logging_addr: logging.addr, logging: Some(logging), gateway, http: visitor(), resolver }
    }

    pub fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// Rows in the predictions table.
    pub fn rows(&self) -> i64 {
        self.db.psql("SELECT count(*) FROM predictions").expect("psql").trim().parse().expect("a count")
    }

    /// Waits until the gateway's log queue is empty.
    pub async fn drained(&self) {
        for _ in 0..400 {
            if self.gateway.queue.stats().pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the log queue did not drain: {:?}", self.gateway.queue.stats());
    }
}

/// An MNIST test digit drawn as a 280x280 canvas (black ink on white) in PNG.
pub fn canvas_png(digit: &[u8; 784]) -> Vec<u8> {
    digits_test_support::png::gray(280, 280, &canvas_gray(digit))
}

/// The digit scaled 10x (nearest neighbour) with the ink dark on white.
pub fn canvas_gray(digit: &[u8; 784]) -> Vec<u8> {
    let mut pixels = vec![255u8; 280 * 280];
    for y in 0..280 {
        for x in 0..280 {
            pixels[y * 280 + x] = 255 - digit[(y / 10) * 28 + x / 10];
        }
    }
    pixels
}

/// The first `n` MNIST test digits and their labels.
pub fn test_digits(n: usize) -> Vec<([u8; 784], u8)> {
    let split = digits_mnist_idx::test_set().expect("MNIST test set (DIGITS_MNIST_DIR)");
    split.images.into_iter().zip(split.labels).take(n).collect()
}
