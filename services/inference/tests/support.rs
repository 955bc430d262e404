//! Shared helpers of the inference service's integration tests: a real
//! server on a free loopback port, and images encoded as files.

#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;

use digits_inference::config::Config;
use digits_inference::startup::Application;
use digits_proto::inference::v1 as pb;
use digits_test_support::{Running, loopback};
use tonic::transport::Channel;

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: pb::inference_client::InferenceClient<Channel>,
    running: Running,
}

impl TestServer {
    /// Starts the real server (embedded model) on 127.0.0.1:0.
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let config = Config { addr: loopback(), metrics_addr: loopback(), ..config };
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr().expect("bound");
        let running = Running::spawn(|stop| app.run_until_stopped(stop));
        let client = pb::inference_client::InferenceClient::connect(format!("http://{addr}"))
            .await
            .expect("client connects")
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
        Self { addr, client, running }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(self) {
        self.running.stop().await;
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

/// Several MNIST digits drawn side by side on one transparent canvas,
/// `scale` times larger, with `gap` pixels between their boxes.
pub fn draw_number(digits: &[&[u8; 784]], scale: f32, gap: f32, height: usize) -> (Vec<u8>, usize) {
    let width = (digits.len() as f32 * (28.0 * scale + gap) + 40.0) as usize;
    let mut canvas = vec![0u8; width * height * 4];
    for (i, digit) in digits.iter().enumerate() {
        let x = 20.0 + i as f32 * (28.0 * scale + gap);
        let one = draw_on_canvas(digit, width, height, x, 10.0, scale);
        for (c, o) in canvas.iter_mut().zip(one) {
            *c = (*c).max(o);
        }
    }
    (canvas, width)
}

/// A 28x28 input with a vertical stroke: a "1".
pub fn stroke() -> pb::Image {
    let mut pixels = vec![0u8; 784];
    for y in 6..22 {
        pixels[y * 28 + 14] = 255;
    }
    raw(28, 28, pb::PixelFormat::Gray8, pixels)
}

/// A 2048x2048 gray picture with a dark band down it: slow to preprocess.
pub fn large_band() -> pb::Image {
    let pixels = (0..2048 * 2048).map(|i| if (900..1150).contains(&(i % 2048)) { 0 } else { 255 }).collect();
    raw(2048, 2048, pb::PixelFormat::Gray8, pixels)
}
