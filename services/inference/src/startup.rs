//! Building and running the server: load the model, start the workers, bind,
//! then serve the inference API with gRPC health and reflection until the
//! shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use digits_oip::OipService;
use digits_proto::inference::v1::inference_server::InferenceServer;
use digits_proto::oip::grpc_inference_service_server::GrpcInferenceServiceServer;
use digits_service_kit::grpc::{GrpcServer, ServeError};
use digits_service_kit::metrics as exporter;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::ModelError;
use crate::model::Model;
use crate::service::InferenceService;

/// The fully qualified service name, as health checks and reflection see it.
pub use digits_proto::inference::v1::inference_server::SERVICE_NAME;

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The address could not be bound, or the workers could not start.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A bound, ready-to-serve inference server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    service: InferenceService,
    engine: Arc<Engine>,
    max_message_bytes: usize,
}

impl Application {
    /// Loads the model, starts the workers and binds `config.addr`.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let source = config.model.clone();
        let model = tokio::task::spawn_blocking(move || Model::load(&source))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let engine = Arc::new(Engine::start(&model, config.workers, config.queue, config.limits)?);
        tracing::info!(
            model = %model.card.name,
            version = %model.card.version,
            workers = engine.workers(),
            "model loaded"
        );
        let service = InferenceService::new(
            engine.clone(),
            &model.card,
            config.limits,
            config.max_batch,
            config.max_message_bytes,
            &config.replica,
        );
        exporter::init("inference", env!("CARGO_PKG_VERSION"));
        metrics::describe_gauge!("digits_model_info", "The model this replica serves: always 1.");
        metrics::gauge!("digits_model_info", "name" => model.card.name.clone(), "version" => model.card.version.clone())
            .set(1.0);
        let listener = TcpListener::bind(config.addr).await?;
        let metrics_listener = TcpListener::bind(config.metrics_addr).await?;
        Ok(Self { listener, metrics_listener, service, engine, max_message_bytes: config.max_message_bytes })
    }

    /// The bound address (useful when the port was 0).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound address of the metrics port.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting calls, finishes
    /// the ones in flight and stops the workers.
    ///
    /// # Errors
    /// A transport error from the server.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), StartupError> {
        let service = Arc::new(self.service);
        let inference = InferenceServer::from_arc(service.clone())
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(usize::MAX);
        // The Open Inference Protocol beside the native API, over the same service.
        let oip = GrpcInferenceServiceServer::new(OipService::new(service, env!("CARGO_PKG_VERSION")))
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(usize::MAX);
        let server = GrpcServer::new(self.listener, inference).with(oip);
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = tokio::spawn(exporter::serve(self.metrics_listener, async {
            let _ = metrics_stopped.await;
        }));
        // The model is loaded and the workers run: ready.
        server.health().set(true).await;
        let result = server.serve(shutdown).await;
        let _ = stop_metrics.send(());
        let _ = metrics_server.await;
        drop(self.engine);
        tracing::info!("inference server stopped");
        Ok(result?)
    }
}
