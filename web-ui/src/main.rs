//! The Digits web app: draw a digit, see the 28x28 image the model saw and
//! its answer, tell it whether it was right, and watch history and accuracy.

mod api;
mod app;
mod components;
mod drawing;
mod hooks;
mod keyboard;
mod local_model;
mod session;
mod upload;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
