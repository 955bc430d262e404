//! Shared helpers of the inference service's integration tests: a real
//! server on a free loopback port, and images encoded as files.

#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;

use digits_inference::config::Config;
use digits_inference::startup::Application;
use digits_proto::inference::v1 as pb;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: pb::inference_client::InferenceClient<Channel>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts the real server (embedded model) on 127.0.0.1:0.
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(mut config: Config) -> Self {
        config.addr = "127.0.0.1:0".parse().expect("loopback");
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        let client = pb::inference_client::InferenceClient::connect(format!("http://{addr}"))
            .await
            .expect("client connects")
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
        Self { addr, client, stop: Some(stop), handle: Some(handle) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task ends cleanly");
        }
    }
}

pub fn mnist_image(pixels: &[u8]) -> pb::Image {
    pb::Image { source: Some(pb::image::Source::Mnist(pixels.to_vec())) }
}

pub fn encoded(bytes: Vec<u8>) -> pb::Image {
    pb::Image { source: Some(pb::image::Source::Encoded(bytes)) }
}

pub fn raw(width: u32, height: u32, format: pb::PixelFormat, pixels: Vec<u8>) -> pb::Image {
    pb::Image { source: Some(pb::image::Source::Raw(pb::RawImage { width, height, format: format as i32, pixels })) }
}

fn png(image: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("encodes");
    out
}

/// Encodes 8-bit grayscale pixels as a PNG file.
pub fn png_gray(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    png(image::GrayImage::from_raw(width, height, pixels.to_vec()).expect("size matches").into())
}

/// Encodes RGBA pixels as a PNG file.
pub fn png_rgba(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    png(image::RgbaImage::from_raw(width, height, pixels.to_vec()).expect("size matches").into())
}

/// Draws an MNIST digit `scale` times larger at `(x0, y0)` on a transparent
/// RGBA canvas, as black ink whose alpha is the digit's intensity (bilinear).
pub fn draw_on_canvas(digit: &[u8; 784], width: usize, height: usize, x0: f32, y0: f32, scale: f32) -> Vec<u8> {
    let mut canvas = vec![0u8; width * height * 4];
    let sample = |x: f32, y: f32| -> f32 {
        if !(0.0..27.0).contains(&x) || !(0.0..27.0).contains(&y) {
            return 0.0;
        }
        let (xi, yi) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - xi as f32, y - yi as f32);
        let p = |xx: usize, yy: usize| f32::from(digit[yy * 28 + xx]);
        let top = p(xi, yi) * (1.0 - fx) + p(xi + 1, yi) * fx;
        let bottom = p(xi, yi + 1) * (1.0 - fx) + p(xi + 1, yi + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    for y in 0..height {
        for x in 0..width {
            let sx = (x as f32 + 0.5 - x0) / scale - 0.5;
            let sy = (y as f32 + 0.5 - y0) / scale - 0.5;
            canvas[(y * width + x) * 4 + 3] = sample(sx, sy).round() as u8;
        }
    }
    canvas
}
